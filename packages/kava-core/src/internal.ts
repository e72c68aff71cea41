// @kava/core/internal: every module's exports, for this repository's own tests (which reach the
// parts the application API does not list). No stability promise: an application imports
// `@kava/core/app`, a plugin `@kava/core`.
export * from './index.js';
export * from './app.js';

// Assembly: configuration and plugins.
export { loadPlugins, type PluginSpec, type PluginSet, type LoadedPlugin } from './assembly/load-plugins.js';
export * from './config/schema.js';
export { mergeConfigs } from './config/merge.js';
export { assignmentsLayer, PATH_SETTINGS } from './assembly/assignments.js';
export { resolveConfig, scorerOptions, type ResolveOptions, type ResolvedConfig } from './assembly/load-config.js';
export * from './assembly/config-reference.js';
export { registerCore } from './assembly/core-parts.js';

// Tensor runtime.
export {
  loadNativeAddon,
  planMatmul,
  NATIVE_ENABLE_HINT,
  nativeKernels,
  setNativeKernelsEnabled,
  nativeKernelsEnabled,
  type NativeAddon,
  type NativeAddonStatus,
  type MatmulPlan,
} from './runtime/native-kernels.js';
export { NATIVE_ENVIRONMENT } from './runtime/native-addon.js';
export { FrozenMatrix, frozenMatMul, frozenRows, frozenMatrixUnavailable } from './runtime/frozen-matrix.js';
export { FUSED_RMS_NORM } from './runtime/fused-rms-norm.js';
export { FUSED_SWIGLU } from './runtime/fused-swiglu.js';
export { FUSED_ROPE } from './runtime/fused-rope.js';
export { FUSED_ADAMW } from './runtime/fused-adamw.js';
export { FUSED_ATTENTION_SOFTMAX, attentionProbs } from './runtime/fused-attention-softmax.js';
export { diagnose, findLibraries, CUDA11_LIBRARIES, type DoctorCheck, type DoctorSection } from './runtime/doctor.js';

// Parts and pipelines.
export * from './model/index.js';
export * from './hub/index.js';
export * from './tokenizer/index.js';
export * from './compression/index.js';
export * from './data/index.js';
export * from './latent/index.js';
export * from './losses/index.js';
export * from './eval/index.js';
export * from './train/index.js';
export * from './runs/index.js';
export * from './presets/index.js';
export * from './ops/rows-at.js';
export * from './io/json-file.js';
export * from './io/file-errors.js';
export * from './util/rng.js';
