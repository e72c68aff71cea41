import { ConfigError, fetchModelDir, loadModelDir, loadRun, type BACKENDS, type LoadedRun } from '@kava/core/app';
import { downloadProgress } from './download-progress.js';
import { runPlugins, setLayer } from './options.js';

export interface ModelFlags {
  run?: string;
  checkpoint?: string;
  modelDir?: string;
  /** A Hugging Face model id, read from the local Hugging Face cache. */
  model?: string;
  plugin?: string[];
  backend?: (typeof BACKENDS)[number];
  set?: string[];
}

/**
 * The model `kava eval` and `kava infer` work on: a trained run (`--run` / `--checkpoint`, with
 * its own settings) or a Hugging Face model directory as it is (`--model-dir`).
 */
export async function loadModelFromFlags(command: string, flags: ModelFlags): Promise<LoadedRun> {
  const runPath = flags.run ?? flags.checkpoint;
  const options = {
    ...runPlugins(flags),
    overrides: setLayer(flags),
    ...(flags.backend ? { backend: flags.backend } : {}),
  };
  // kava eval names a run by --run or --checkpoint; kava infer by --checkpoint.
  const runFlags = command === 'eval' ? ['--run', '--checkpoint'] : ['--checkpoint'];
  if (flags.model !== undefined && flags.modelDir !== undefined)
    throw new ConfigError(`kava ${command}: give --model or --model-dir, not both`);
  const modelFlag = flags.model !== undefined ? '--model' : '--model-dir';
  if (flags.modelDir !== undefined || flags.model !== undefined) {
    if (runPath !== undefined)
      throw new ConfigError(`kava ${command}: give either a run (${runFlags.join(' / ')}) or ${modelFlag}, not both`);
    const dir =
      flags.modelDir ??
      (await fetchModelDir(flags.model!, { field: '--model', progress: downloadProgress(flags.model!) }));
    return loadModelDir(dir, options);
  }
  if (runPath === undefined)
    throw new ConfigError(
      `kava ${command}: give ${runFlags.map((f) => `${f} DIR`).join(', ')}, --model-dir DIR or --model ORG/NAME`,
    );
  return loadRun(runPath, options);
}

/**
 * The mode to answer in: the flag, else the run's eval.mode; a model directory has no trained
 * latents, so it defaults to written CoT and refuses latent mode.
 */
export function answerMode(
  command: string,
  run: LoadedRun,
  flag: 'latent' | 'cot' | 'direct' | undefined,
): 'latent' | 'cot' | 'direct' {
  if (run.source === 'model-dir') {
    if (flag === 'latent') {
      throw new ConfigError(
        `kava ${command} --model-dir: latent mode needs a trained run (its latent projection and reasoning-token rows are learnt in training); use --mode cot or --mode direct, or pass --run`,
      );
    }
    return flag ?? 'cot';
  }
  return flag ?? run.resolved.config.eval.mode;
}
