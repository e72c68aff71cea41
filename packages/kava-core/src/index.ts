// @kava/core: the plugin API. What a plugin author needs to contribute a part (a scorer, an
// evictor, a loss, a dataset format, a backbone family, a preset) and to tap the lifecycle hooks:
// the contracts, the registry, the hooks, the define* helpers and the tensor helpers scorers are
// built from. An application that assembles and runs KaVa imports `@kava/core/app` (which also
// re-exports all of this); a plugin's tests import `@kava/core/testing`.
export { KavaError, ConfigError, PluginError } from './errors.js';
export { tf } from './tf.js';
export { z } from 'zod';
export { initBackend, type BackendName, type BackendInfo } from './runtime/backend.js';

// Contracts a part implements, and the plugin object that registers parts and taps hooks.
export type * from './contracts/index.js';
export type { KavaPlugin } from './plugin/plugin.js';
export {
  Registry,
  KINDS,
  type Kind,
  type Registered,
  type RegistrationKinds,
  type ScorerRegistration,
  type EvictorRegistration,
  type LossRegistration,
  type BackboneRegistration,
  type DatasetRegistration,
  type PresetRegistration,
} from './plugin/registry.js';
export {
  KavaHooks,
  HOOK_NAMES,
  type RunInfo,
  type RunSummary,
  type BatchInfo,
  type ForwardInfo,
  type CompressionInfo,
  type LossesInfo,
  type StepMetrics,
  type EvaluationInfo,
  type CheckpointInfo,
} from './plugin/hooks.js';
export type { KavaConfig, KavaConfigInput } from './config/schema.js';

// Definitions: a part is its idea; options are parsed and defaulted once.
export { defineScorer, type ScorerDefinition, type DefinedScorer } from './compression/define-scorer.js';
export { defineLoss, type LossDefinition, type DefinedLoss } from './losses/define-loss.js';
export { defineFamily, type FamilyDescription } from './model/hf-config.js';
export { paperPresetConfig, type PaperSettings } from './presets/paper-settings.js';
export { tinyPresetConfig, TINY_ROPE } from './presets/cpu-budget.js';

// What scorers and evictors are built from.
export * from './compression/scorer-kit.js';

// What loss terms are built from: a teacher quantity used as a target goes through stopGradient.
export { stopGradient, detach } from './ops/stop-gradient.js';
