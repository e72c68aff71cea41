import {
  defineFamily,
  paperPresetConfig,
  tinyPresetConfig,
  TINY_ROPE,
  type BackboneShape,
  type KavaPlugin,
  type Registry,
} from '@kava/core';

/**
 * The Llama-3.x family: config.json `model_type` "llama", untied or tied head, optional q/k/v
 * bias (`attention_bias`), Llama-3 RoPE scaling. The decoder itself lives in @kava/core.
 */
export const llamaFamily = defineFamily({
  name: 'llama',
  modelTypes: ['llama'],
  architecture: 'LlamaForCausalLM',
  qkvBias: 'config',
  tieWordEmbeddingsDefault: false,
});

/** Llama-3.2's RoPE: theta 500000 with llama3 scaling (factor 32 over an 8192 original context). */
const LLAMA32_ROPE = {
  ropeTheta: 500000,
  ropeScaling: {
    type: 'llama3' as const,
    factor: 32,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  },
  rmsNormEps: 1e-5,
  attentionBias: false,
};

export const llamaShapes: Record<string, BackboneShape> = {
  'tiny-llama': {
    description:
      'A small randomly initialised Llama-3.2-style model (4 layers, hidden 256, GQA 8/2 heads; RoPE theta 10000 without scaling) that trains from scratch on a CPU',
    architecture: {
      hiddenSize: 256,
      intermediateSize: 688,
      numLayers: 4,
      numHeads: 8,
      numKvHeads: 2,
      headDim: 32,
      maxPositionEmbeddings: 2048,
      tieWordEmbeddings: true,
      ...LLAMA32_ROPE,
      ...TINY_ROPE,
    },
  },
  'llama-1b': {
    description: 'Llama-3.2-1B-Instruct (needs --model-dir)',
    architecture: {
      vocabSize: 128256,
      hiddenSize: 2048,
      intermediateSize: 8192,
      numLayers: 16,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 64,
      maxPositionEmbeddings: 131072,
      tieWordEmbeddings: true,
      ...LLAMA32_ROPE,
    },
    checkpoint: { repo: 'meta-llama/Llama-3.2-1B-Instruct' },
  },
  'llama-3b': {
    description: 'Llama-3.2-3B-Instruct (needs --model-dir)',
    architecture: {
      vocabSize: 128256,
      hiddenSize: 3072,
      intermediateSize: 8192,
      numLayers: 28,
      numHeads: 24,
      numKvHeads: 8,
      headDim: 128,
      maxPositionEmbeddings: 131072,
      tieWordEmbeddings: true,
      ...LLAMA32_ROPE,
    },
    checkpoint: { repo: 'meta-llama/Llama-3.2-3B-Instruct' },
  },
};

/** The paper's Table 6 rows (KAVA-METHOD.md §4) for the Llama presets. */
// One line per row, as in the paper (not reflowed by the formatter):
// prettier-ignore
const TABLE6 = {
  'llama-1b': {
    aug: { codi: 10, kv: 1, kvLoss: 'smooth-l1', layerwiseStd: true, projection: true, lambda: 0.1, lr: 8e-4, weightDecay: 0.1, epochs: 10 },
    augNl: { codi: 10, kv: 1, kvLoss: 'mse', layerwiseStd: true, projection: true, lambda: 0.1, lr: 8e-4, weightDecay: 0.1, epochs: 10 },
  },
  'llama-3b': {
    aug: { codi: 20, kv: 2, kvLoss: 'smooth-l1', layerwiseStd: false, projection: true, lambda: 0.1, lr: 2e-4, weightDecay: 0.1, epochs: 5 },
    augNl: { codi: 20, kv: 2, kvLoss: 'smooth-l1', layerwiseStd: false, projection: false, lambda: 0, lr: 2e-4, weightDecay: 0.1, epochs: 5 },
  },
} as const;

const plugin: KavaPlugin = {
  name: '@kava/plugin-backbone-llama',
  register(registry: Registry) {
    registry.backbone({
      name: 'llama',
      description: 'Llama-3.x decoders (model_type "llama")',
      family: llamaFamily,
      shapes: llamaShapes,
    });
    registry.preset({
      name: 'tiny-llama',
      kind: 'backbone',
      description: llamaShapes['tiny-llama']!.description,
      config: tinyPresetConfig('tiny-llama', 'llama'),
    });
    for (const name of ['llama-1b', 'llama-3b'] as const) {
      registry.preset({
        name,
        kind: 'backbone',
        description: `${llamaShapes[name]!.description}; LoRA and the paper's Table 6 settings (AUG, or AUG-NL with gsm8k-aug-nl)`,
        config: paperPresetConfig({ preset: name, family: 'llama' }, TABLE6[name]),
      });
    }
  },
};
export default plugin;
