import {
  mergeConfigs,
  resolveConfig,
  type KavaConfigInput,
  type KavaPlugin,
  type ResolvedConfig,
} from '@kava/core/app';
import { tempProject } from './helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

/** A very small model and task so a training test runs in seconds. */
export const MICRO: KavaConfigInput = {
  backbone: { overrides: { numLayers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 64 } },
  data: { synthetic: { trainSize: 40, testSize: 4, minSteps: 2, maxSteps: 3, seed: 7 } },
  latent: { count: 3, iterations: 1 },
  // Every step runs the whole objective (the tiny preset's teacher warm-up has its own test).
  train: { steps: 4, batchSize: 4, microBatchSize: 2, lr: 1e-3, checkpointEvery: 0, evalEvery: 0, teacherWarmup: 0 },
  eval: { limit: 4, batchSize: 4, maxNewTokens: 3 },
};

/** Resolves MICRO (+ `extra`) in a fresh folder whose runs go to `<dir>/runs`. */
export async function microConfig(
  extra: KavaConfigInput = {},
  plugins: KavaPlugin[] = [],
  presets = ['tiny-llama'],
): Promise<{ resolved: ResolvedConfig; dir: string }> {
  const dir = tempProject();
  const resolved = await resolveConfig({
    cwd: dir,
    presets,
    overrides: mergeConfigs(MICRO, { train: { out: `${dir}/runs` } }, extra) as KavaConfigInput,
    extraPlugins: plugins,
    builtinPlugins: BUILTIN_PLUGINS,
  });
  return { resolved, dir };
}
