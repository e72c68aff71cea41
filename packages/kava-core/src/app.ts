// @kava/core/app: the application API, every name listed here (no `export *`). What a program
// that assembles and runs KaVa needs (the `kava` command and the experiment scripts are two):
// resolve a configuration and load its plugins, pick a backend, build or load a model, read data,
// train (a whole run, or a TrainingSession's steps), evaluate, infer, export. The plugin API is
// `@kava/core`; an application that also defines parts imports from both. The API reference is
// built from this file and src/index.ts (`npm run docs:api`).

// The plugin API's names an application uses too (the rest of it: `@kava/core`).
export { tf } from './tf.js';
export { ConfigError, KavaError, PluginError } from './errors.js';
export { type BackendInfo, initBackend } from './runtime/backend.js';
export { BACKENDS, type KavaConfig, type KavaConfigInput } from './config/schema.js';
export { type DecoderConfig } from './contracts/backbone.js';
export { type StepMetrics } from './plugin/hooks.js';
export { type KavaPlugin } from './plugin/plugin.js';
export { type Kind, KINDS } from './plugin/registry.js';

// Assembly: a configuration resolved from files, presets and overrides, with its plugins loaded.
export { resolveConfig, type ResolvedConfig, type ResolveOptions, scorerOptions } from './assembly/load-config.js';
export { mergeConfigs } from './config/merge.js';
export { describeIssues } from './config/errors.js';
export { assignmentsLayer } from './assembly/assignments.js';
export { configReference } from './assembly/config-reference.js';
export { loadPlugins, type PluginSet } from './assembly/load-plugins.js';

// Tensor runtime: the native addon, its kernels, and what `kava doctor` checks.
export { loadNativeAddon, NATIVE_ENVIRONMENT } from './runtime/native-addon.js';
export { setNativeKernelsEnabled } from './runtime/native-kernels.js';
export { FUSED_ADAMW } from './runtime/fused-adamw.js';
export { FUSED_ATTENTION_SOFTMAX } from './runtime/fused-attention-softmax.js';
export { FUSED_RMS_NORM } from './runtime/fused-rms-norm.js';
export { FUSED_ROPE } from './runtime/fused-rope.js';
export { FUSED_SWIGLU } from './runtime/fused-swiglu.js';
export { diagnose, type DoctorSection } from './runtime/doctor.js';

// Models and datasets by Hugging Face id: the hub cache and downloads.
export { fetchModelDir, hubCachePath, listCachedModels, parseModelId } from './hub/cache.js';
export { datasetFileOfId, isHubDataset, listCachedDatasets } from './hub/dataset.js';
export { type DownloadProgress, downloadSnapshot, type RepoFile } from './hub/download.js';

// Models: shapes and families, memory estimates, Hugging Face directories, safetensors, generation.
export {
  backboneFamilies,
  holdsBaseNatively,
  modelDirHint,
  resolveBackboneShape,
  shapeDecoderConfig,
} from './model/build.js';
export { Decoder } from './model/decoder.js';
export {
  assertFitsBackend,
  estimateMemory,
  formatMemoryEstimate,
  type MemoryEstimate,
  WASM_HEAP_BYTES,
} from './model/estimate.js';
export { generateGreedy } from './model/generate.js';
export { readHFConfig, saveHFModel } from './model/hf-model.js';
export { writeSafetensors } from './model/safetensors.js';
export { parameterSpecs } from './model/weights.js';
export { writeFolderAtomic, writeTextAtomic } from './model/atomic-write.js';

// Tokenizers and data: the synthetic task, GSM8k and its traces, question encoding.
export { createWordLevelTokenizer } from './tokenizer/word-level.js';
export { generateSynthetic } from './data/synthetic/generator.js';
export { createSyntheticTokenizer } from './data/synthetic/vocabulary.js';
export { syntheticSource } from './data/synthetic/format.js';
export { gsm8kFormat } from './data/formats/gsm8k.js';
export { deriveGsm8kTraces } from './data/gsm8k-traces.js';
export { jsonLines } from './data/json-records.js';
export { FieldError } from './data/record-error.js';
export { droppedQuestionTokens, encodeQuestion } from './data/sequences.js';

// Training: the session and its step, the run around it, and the checks and plans before it.
export {
  createTrainingSession,
  plannedSteps,
  type StepObserver,
  type StepOutcome,
  type StepStage,
  TrainingSession,
} from './train/session.js';
export { compressTeacher, forwardLosses, scorerRows, teacherForward } from './train/step.js';
export { train, type TrainOptions, type TrainResult } from './train/trainer.js';
export { buildBatch } from './train/batch.js';
export { addModelTokens, type KavaModel, runTokenizer, setupModel } from './train/model-setup.js';
export { evaluatedCount, heldOutExamples, loadRunData, readExamples, type RunData } from './train/data.js';
export { evaluationPlan, teacherWarmupPlan } from './train/schedule.js';
export { checkBatchSize, checkRunPlan, checkSequenceLengths } from './train/preflight.js';
export { dataLengths, limitLengths, stepTokens } from './train/memory-plan.js';
export { checkFreshRunDir } from './train/run-folder.js';
export { createCompression } from './compression/compress.js';

// Runs: loading a trained run or a model directory, evaluation, inference, export.
export { type LoadedRun, loadModelDir, loadRun, resolveRunConfig, type RunPlugins } from './runs/load-run.js';
export { evaluateModel, type EvaluateModelOptions, strategyFor } from './runs/evaluate-run.js';
export { type EvalReport, evaluate, infer } from './eval/evaluate.js';
export { type LatentReading } from './eval/strategy.js';
export { latentPlan, type LatentPlan } from './latent/plan.js';
export { checkExportDir, exportAdapter } from './runs/export-adapter.js';

// Files and reproducibility: JSON and JSON Lines read with errors that name the file, the seeded generator.
export { readJsonLines, readJsonObject } from './io/json-file.js';
export { lockRunDir, type RunLock } from './train/run-lock.js';
export { Rng } from './util/rng.js';
