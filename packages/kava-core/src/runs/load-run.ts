import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { KavaError } from '../errors.js';
import type { KavaConfig, KavaConfigInput } from '../config/schema.js';
import { resolveConfig, type ResolveOptions, type ResolvedConfig } from '../assembly/load-config.js';
import { findCheckpoint, loadCheckpoint, tokenizerDir } from '../train/checkpoint.js';
import { initBackend, type BackendInfo, type BackendName } from '../runtime/backend.js';
import { runTokenizer, setupModel, type KavaModel } from '../train/model-setup.js';
import { mergeConfigs } from '../config/merge.js';
import { missingModelDir } from '../model/hf-model.js';
import { resumedSettingsLayer } from '../train/resume.js';

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
    data: {
      ...config.data,
      train: abs(config.data.train),
      test: abs(config.data.test),
      validation: abs(config.data.validation),
    },
    eval: { ...config.eval, data: abs(config.eval.data) },
    train: { ...config.train, out: resolve(baseDir, config.train.out) },
  };
}

/** A trained run (or a model directory) loaded for evaluation, inference or export. */
export interface LoadedRun {
  resolved: ResolvedConfig;
  model: KavaModel;
  /** The run directory; for a model directory (`loadModelDir`), the folder outputs go to. */
  runDir: string;
  /** The checkpoint folder, or the model directory. */
  checkpointDir: string;
  /** The checkpoint's step (0 for a model directory). */
  step: number;
  backend: BackendInfo;
  /** A trained run, or a Hugging Face model directory as it is (no run, no latent training). */
  source: 'run' | 'model-dir';
}

/** A run directory or checkpoint folder: the checkpoint it stands for, its run directory and that run's saved config.json. */
export function locateRun(path: string): { checkpointDir: string; runDir: string; configFile: string } {
  const checkpointDir = findCheckpoint(resolve(path));
  const runDir = dirname(dirname(checkpointDir));
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile))
    throw new KavaError(`${runDir}: no config.json next to the checkpoint ${checkpointDir}`, { exitCode: 2 });
  return { checkpointDir, runDir, configFile };
}

/** The plugins a run is loaded with besides those its saved config names. */
export type RunPlugins = Pick<ResolveOptions, 'extraPlugins' | 'extraPluginSpecs' | 'builtinPlugins'>;

/**
 * The configuration a run last trained with (its saved config.json with the settings its resumes
 * changed, and its plugins), with `overrides` on top: only what they name changes. Used to evaluate a run and to resume it.
 */
export async function resolveRunConfig(
  path: string,
  options: RunPlugins & { overrides?: KavaConfigInput } = {},
): Promise<ResolvedConfig> {
  const { runDir, configFile } = locateRun(path);
  // The saved config is complete (every key present), so re-applying its presets under it changes
  // nothing; what later resumes changed (resumes.jsonl) lies on it, and the caller's overrides on top.
  const overrides = mergeConfigs(resumedSettingsLayer(runDir), options.overrides) as KavaConfigInput;
  return resolveConfig({
    cwd: runDir,
    configFile,
    presets: [],
    overrides,
    ...(options.extraPlugins ? { extraPlugins: options.extraPlugins } : {}),
    ...(options.extraPluginSpecs ? { extraPluginSpecs: options.extraPluginSpecs } : {}),
    ...(options.builtinPlugins ? { builtinPlugins: options.builtinPlugins } : {}),
  });
}

/**
 * Rebuilds a trained model from a run directory or checkpoint folder: the run's saved
 * config.json (with its plugins), the checkpoint's tokenizer, and its weights.
 */
export async function loadRun(
  path: string,
  options: RunPlugins & { backend?: BackendName; overrides?: KavaConfigInput } = {},
): Promise<LoadedRun> {
  const { checkpointDir, runDir } = locateRun(path);
  // `--backend` and `--set` on eval / infer / export override the run's own settings.
  const { backend: requested, overrides, ...rest } = options;
  const resolved = await resolveRunConfig(checkpointDir, {
    ...rest,
    overrides: mergeConfigs(overrides, requested ? { backend: requested } : {}) as KavaConfigInput,
  });
  // The backend comes first: tensors made before a backend switch would live on the old one.
  const backend = await initBackend(resolved.config.backend);
  const tokenizer = await runTokenizer(resolved.config, { savedDir: tokenizerDir(checkpointDir) });
  const model = setupModel(resolved.config, resolved.plugins.registry, tokenizer);
  try {
    const state = loadCheckpoint(checkpointDir, model.params);
    return { resolved, model, runDir, checkpointDir, step: state.step, backend, source: 'run' };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * A Hugging Face model directory as it is, for `kava eval` / `kava infer --model-dir`: a released
 * checkpoint, or one written by `kava export --merged`. The settings come from the configuration
 * found from `cwd` (as for training), with backbone.modelDir set and no LoRA; outputs go under
 * `cwd`. Its latent mode has nothing learnt to run on (the projection and the reasoning tokens'
 * rows train with a run): the caller chooses written CoT or a direct answer.
 */
export async function loadModelDir(
  modelDir: string,
  options: RunPlugins & { cwd?: string; backend?: BackendName; overrides?: KavaConfigInput } = {},
): Promise<LoadedRun> {
  const dir = resolve(modelDir);
  if (!existsSync(join(dir, 'config.json')))
    throw new KavaError(missingModelDir(existsSync(dir) ? dir : modelDir, '--model-dir'), { exitCode: 2 });
  const cwd = options.cwd ?? process.cwd();
  const resolved = await resolveConfig({
    cwd,
    overrides: mergeConfigs(options.overrides, {
      backbone: { modelDir: dir, lora: { enabled: false } },
      ...(options.backend ? { backend: options.backend } : {}),
    }) as KavaConfigInput,
    ...(options.extraPlugins ? { extraPlugins: options.extraPlugins } : {}),
    ...(options.extraPluginSpecs ? { extraPluginSpecs: options.extraPluginSpecs } : {}),
    ...(options.builtinPlugins ? { builtinPlugins: options.builtinPlugins } : {}),
  });
  const backend = await initBackend(resolved.config.backend);
  const tokenizer = await runTokenizer(resolved.config);
  // Nothing trains here: a base too large for the backend's heap stays in native memory.
  const model = setupModel(resolved.config, resolved.plugins.registry, tokenizer, { inference: true });
  return { resolved, model, runDir: cwd, checkpointDir: dir, step: 0, backend, source: 'model-dir' };
}
