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
 * The Qwen2 / Qwen2.5 family: config.json `model_type` "qwen2", q/k/v projections always with
 * bias, usually tied embeddings, no RoPE scaling. The decoder itself lives in @kava/core.
 */
export const qwenFamily = defineFamily({
  name: 'qwen2',
  modelTypes: ['qwen2'],
  architecture: 'Qwen2ForCausalLM',
  qkvBias: 'always',
  tieWordEmbeddingsDefault: false,
  extraConfig: { use_sliding_window: false, sliding_window: null },
});

const QWEN25 = {
  ropeTheta: 1000000,
  ropeScaling: null,
  rmsNormEps: 1e-6,
  attentionBias: true,
  tieWordEmbeddings: true,
};

export const qwenShapes: Record<string, BackboneShape> = {
  'tiny-qwen': {
    description:
      'A small randomly initialised Qwen2.5-style model (4 layers, hidden 256, GQA 8/2 heads, q/k/v bias; RoPE theta 10000) that trains from scratch on a CPU',
    architecture: {
      hiddenSize: 256,
      intermediateSize: 688,
      numLayers: 4,
      numHeads: 8,
      numKvHeads: 2,
      headDim: 32,
      maxPositionEmbeddings: 2048,
      ...QWEN25,
      ...TINY_ROPE,
    },
  },
  'qwen-0.5b': {
    description: 'Qwen2.5-0.5B-Instruct (needs --model-dir)',
    architecture: {
      vocabSize: 151936,
      hiddenSize: 896,
      intermediateSize: 4864,
      numLayers: 24,
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      maxPositionEmbeddings: 32768,
      ...QWEN25,
    },
    checkpoint: { repo: 'Qwen/Qwen2.5-0.5B-Instruct' },
  },
};

/** The paper's Table 6 rows (KAVA-METHOD.md §4) for Qwen2.5-0.5B. */
// One line per row, as in the paper (not reflowed by the formatter):
// prettier-ignore
const TABLE6 = {
  aug: { codi: 10, kv: 1, kvLoss: 'mse', layerwiseStd: false, projection: true, lambda: 0.1, lr: 5e-4, weightDecay: 0.01, epochs: 10 },
  augNl: { codi: 10, kv: 1, kvLoss: 'mse', layerwiseStd: true, projection: true, lambda: 0.1, lr: 8e-4, weightDecay: 0.1, epochs: 10 },
} as const;

const plugin: KavaPlugin = {
  name: '@kava/plugin-backbone-qwen',
  register(registry: Registry) {
    registry.backbone({
      name: 'qwen2',
      description: 'Qwen2 / Qwen2.5 decoders (model_type "qwen2")',
      family: qwenFamily,
      shapes: qwenShapes,
    });
    registry.preset({
      name: 'tiny-qwen',
      kind: 'backbone',
      description: qwenShapes['tiny-qwen']!.description,
      config: tinyPresetConfig('tiny-qwen', 'qwen2'),
    });
    registry.preset({
      name: 'qwen-0.5b',
      kind: 'backbone',
      description: `${qwenShapes['qwen-0.5b']!.description}; LoRA and the paper's Table 6 settings (AUG, or AUG-NL with gsm8k-aug-nl)`,
      config: paperPresetConfig({ preset: 'qwen-0.5b', family: 'qwen2' }, TABLE6),
    });
  },
};
export default plugin;
