import { ConfigError } from '../errors.js';
import type { BackboneFamily, BackboneShape, DecoderConfig } from '../contracts/backbone.js';
import { architectureOverridesSchema, type KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import { Decoder } from './decoder.js';
import { loadHFBackbone, readHFConfig } from './hf-model.js';
import { countParameters, type ProjectionName } from './weights.js';
import { frozenMatrixUnavailable } from '../runtime/frozen-matrix.js';
import { NATIVE_ENABLE_HINT } from '../runtime/native-kernels.js';

/** Float32 base weights above this size are held in native memory under `baseWeights: "auto"`. */
const NATIVE_BASE_FROM_BYTES = 2 ** 30;

/**
 * Whether the frozen base of this backbone is held in native memory (FrozenMatrix) rather than
 * as backend tensors: only a LoRA run on a model directory has a frozen base. Call after the
 * backend is initialised. `"native"` where it cannot work is a ConfigError saying why.
 */
export function holdsBaseNatively(
  backbone: KavaConfig['backbone'],
  config: DecoderConfig,
  options: { inference?: boolean } = {},
): boolean {
  // Frozen: LoRA trains only adapters; inference trains nothing.
  const frozenBase = backbone.modelDir !== null && (backbone.lora.enabled || options.inference === true);
  if (backbone.baseWeights === 'backend') return false;
  if (backbone.baseWeights === 'native') {
    if (!frozenBase)
      throw new ConfigError(
        'backbone.baseWeights: "native" holds a frozen base, which only a LoRA run (or inference) on a model directory has (backbone.lora.enabled and backbone.modelDir)',
      );
    const why = frozenMatrixUnavailable();
    if (why !== null)
      throw new ConfigError(
        `backbone.baseWeights: "native" cannot be used: ${why}. Enable the native kernels: ${NATIVE_ENABLE_HINT}`,
      );
    return true;
  }
  return frozenBase && 4 * countParameters(config) > NATIVE_BASE_FROM_BYTES && frozenMatrixUnavailable() === null;
}

/** Every backbone family the loaded plugins provide. */
export function backboneFamilies(registry: Registry): BackboneFamily[] {
  return registry.list('backbone').map((b) => b.family);
}

/** The family and backbone shape named `name` (`backbone.preset`), or a ConfigError listing the known ones. */
export function resolveBackboneShape(
  registry: Registry,
  name: string,
): { family: BackboneFamily; shape: BackboneShape; plugin: string } {
  for (const reg of registry.list('backbone')) {
    const shape = reg.shapes?.[name];
    if (shape) return { family: reg.family, shape, plugin: reg.plugin };
  }
  const known = registry.list('backbone').flatMap((b) => Object.keys(b.shapes ?? {}));
  throw new ConfigError(
    `backbone.preset: no loaded backbone plugin provides "${name}". ` +
      (known.length
        ? `Available: ${known.sort().join(', ')}.`
        : 'No backbone plugin is loaded (add @kava/plugin-backbone-llama or -qwen).'),
  );
}

/** The fields backbone.overrides may set: those of its schema. */
const OVERRIDABLE = Object.keys(architectureOverridesSchema.shape);

/** The DecoderConfig a backbone shape builds, with `backbone.overrides` applied and the tokenizer's vocabulary. */
export function shapeDecoderConfig(
  family: BackboneFamily,
  shape: BackboneShape,
  options: { vocabSize?: number; overrides?: Record<string, number | boolean> } = {},
): DecoderConfig {
  const config: DecoderConfig = {
    ...shape.architecture,
    family: family.name,
    vocabSize: options.vocabSize ?? shape.architecture.vocabSize ?? 0,
  };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (!(OVERRIDABLE as readonly string[]).includes(key))
      throw new ConfigError(
        `backbone.overrides.${key}: unknown architecture field (expected one of ${OVERRIDABLE.join(', ')})`,
      );
    const isBool = key === 'tieWordEmbeddings' || key === 'attentionBias';
    if (typeof value !== (isBool ? 'boolean' : 'number'))
      throw new ConfigError(
        `backbone.overrides.${key}: expected a ${isBool ? 'boolean' : 'number'}, got ${JSON.stringify(value)}`,
      );
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (!(config.vocabSize > 0))
    throw new ConfigError('backbone: the vocabulary size is unknown (it comes from the tokenizer)');
  if (options.overrides?.hiddenSize !== undefined && options.overrides.headDim === undefined)
    config.headDim = config.hiddenSize / config.numHeads;
  return config;
}

/** What to do and where to point `--model-dir` for a preset of a released checkpoint. */
export function modelDirHint(presetName: string, repo: string): string {
  const local = `models/${presetName}`;
  return (
    `backbone preset "${presetName}" is the released checkpoint ${repo}: pass --model ${repo} (backbone.model), ` +
    `which reads it from the Hugging Face cache and downloads it there first when missing (\`kava download ${repo}\` fetches it ahead; ` +
    `gated models need their license accepted on huggingface.co and HF_TOKEN set); or point --model-dir at a folder holding it (e.g. ${local}).`
  );
}

/**
 * The architecture the configured backbone will have, without loading or allocating weights:
 * from `backbone.modelDir`'s config.json when set, else from the preset (released-checkpoint
 * presets give their published shapes). For parameter counts and memory estimates in a dry run.
 */
export function backboneArchitecture(
  registry: Registry,
  backbone: KavaConfig['backbone'],
  vocabSize?: number,
): DecoderConfig {
  if (backbone.modelDir !== null) return readHFConfig(backbone.modelDir, backboneFamilies(registry)).config;
  const { family, shape } = resolveBackboneShape(registry, backbone.preset);
  return shapeDecoderConfig(family, shape, {
    vocabSize: shape.checkpoint ? undefined : vocabSize,
    overrides: backbone.overrides,
  });
}

/**
 * Builds the configured backbone: from `backbone.modelDir` when set (a Hugging Face directory
 * whose model_type picks the family), else a randomly initialised model of the preset's
 * architecture (`vocabSize` from the tokenizer). Attaches LoRA adapters when
 * `backbone.lora.enabled`. A preset of a released checkpoint without a model directory is a
 * ConfigError saying what to download.
 */
export function createBackbone(
  registry: Registry,
  backbone: KavaConfig['backbone'],
  options: { vocabSize?: number; seed?: number; inference?: boolean } = {},
): { backbone: Decoder; family: BackboneFamily } {
  let built: { backbone: Decoder; family: BackboneFamily };
  if (backbone.modelDir !== null) {
    const architecture = readHFConfig(backbone.modelDir, backboneFamilies(registry)).config;
    const nativeBase = holdsBaseNatively(backbone, architecture, { inference: options.inference === true });
    built = loadHFBackbone(backbone.modelDir, backboneFamilies(registry), { nativeBase });
    if (backbone.family !== null && backbone.family !== built.family.name) {
      built.backbone.dispose();
      throw new ConfigError(
        `backbone.family is "${backbone.family}" but ${backbone.modelDir} holds a "${built.family.name}" model`,
      );
    }
  } else {
    const { family, shape } = resolveBackboneShape(registry, backbone.preset);
    if (backbone.family !== null && backbone.family !== family.name) {
      throw new ConfigError(
        `backbone.family is "${backbone.family}" but preset "${backbone.preset}" is a "${family.name}" model`,
      );
    }
    if (shape.checkpoint) throw new ConfigError(modelDirHint(backbone.preset, shape.checkpoint.repo));
    const config = shapeDecoderConfig(family, shape, { vocabSize: options.vocabSize, overrides: backbone.overrides });
    built = { backbone: Decoder.random(config, options.seed ?? 0), family };
  }
  if (backbone.lora.enabled) {
    const { rank, alpha, dropout, targets } = backbone.lora;
    built.backbone.attachLora({ rank, alpha, dropout, targets: targets as ProjectionName[], seed: options.seed ?? 0 });
  }
  return built;
}
