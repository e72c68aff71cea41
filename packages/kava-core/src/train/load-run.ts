import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { KavaError } from '../errors.js';
import type { KavaConfig, KavaConfigInput } from '../config/schema.js';
import { resolveConfig, type ResolveOptions, type ResolvedConfig } from '../config/load.js';
import { findCheckpoint, loadCheckpoint, tokenizerDir } from './checkpoint.js';
import { initBackend, type BackendInfo, type BackendName } from '../runtime/backend.js';
import { runTokenizer, setupModel, type KavaModel } from './model-setup.js';

const isPathLike = (p: string) => p.startsWith('.') || isAbsolute(p);

/**
 * The resolved config as a run saves it: file and folder paths made absolute, so the run can be
 * evaluated or resumed from anywhere.
 */
export function portableConfig(config: KavaConfig, baseDir: string): KavaConfig {
  const abs = (p: string | null) => (p === null ? null : resolve(baseDir, p));
  return {
    ...config,
    plugins: config.plugins.map((p) => (isPathLike(p) ? resolve(baseDir, p) : p)),
    backbone: { ...config.backbone, modelDir: abs(config.backbone.modelDir) },
    data: { ...config.data, train: abs(config.data.train), test: abs(config.data.test) },
    eval: { ...config.eval, data: abs(config.eval.data) },
    train: { ...config.train, out: resolve(baseDir, config.train.out) },
  };
}

export interface LoadedRun {
  resolved: ResolvedConfig;
  model: KavaModel;
  runDir: string;
  checkpointDir: string;
  step: number;
  backend: BackendInfo;
}

/** A run directory or checkpoint folder: the checkpoint it stands for, its run directory and that run's saved config.json. */
export function locateRun(path: string): { checkpointDir: string; runDir: string; configFile: string } {
  const checkpointDir = findCheckpoint(resolve(path));
  const runDir = dirname(dirname(checkpointDir));
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new KavaError(`${runDir}: no config.json next to the checkpoint ${checkpointDir}`, { exitCode: 2 });
  return { checkpointDir, runDir, configFile };
}

/** The plugins a run is loaded with besides those its saved config names. */
export type RunPlugins = Pick<ResolveOptions, 'extraPlugins' | 'extraPluginSpecs' | 'builtinPlugins'>;

/**
 * The configuration a run was trained with (its saved config.json, with its plugins), with
 * `overrides` on top: only what they name changes. Used to evaluate a run and to resume it.
 */
export async function resolveRunConfig(path: string, options: RunPlugins & { overrides?: KavaConfigInput } = {}): Promise<ResolvedConfig> {
  const { runDir, configFile } = locateRun(path);
  // The saved config is complete (every key present), so re-applying its presets under it changes nothing.
  return resolveConfig({
    cwd: runDir, configFile, presets: [],
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.extraPlugins ? { extraPlugins: options.extraPlugins } : {}),
    ...(options.extraPluginSpecs ? { extraPluginSpecs: options.extraPluginSpecs } : {}),
    ...(options.builtinPlugins ? { builtinPlugins: options.builtinPlugins } : {}),
  });
}

/**
 * Rebuilds a trained model from a run directory or checkpoint folder: the run's saved
 * config.json (with its plugins), the checkpoint's tokenizer, and its weights.
 */
export async function loadRun(path: string, options: RunPlugins & { backend?: BackendName } = {}): Promise<LoadedRun> {
  const { checkpointDir, runDir } = locateRun(path);
  // `--backend` on eval / infer / export overrides the backend the run trained with.
  const { backend: requested, ...rest } = options;
  const resolved = await resolveRunConfig(checkpointDir, { ...rest, ...(requested ? { overrides: { backend: requested } } : {}) });
  // The backend comes first: tensors made before a backend switch would live on the old one.
  const backend = await initBackend(resolved.config.backend);
  const tokenizer = await runTokenizer(resolved.config, { savedDir: tokenizerDir(checkpointDir) });
  const model = setupModel(resolved.config, resolved.plugins.registry, tokenizer);
  try {
    const state = loadCheckpoint(checkpointDir, model.params);
    return { resolved, model, runDir, checkpointDir, step: state.step, backend };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
