import {
  Registry,
  ConfigError,
  configSchema,
  createBackbone,
  shapeDecoderConfig,
  countParameters,
  initBackend,
  type KavaConfigInput,
} from '@kava/core/internal';
import plugin, { qwenFamily, qwenShapes } from '@kava/plugin-backbone-qwen';

function registry(): Registry {
  const r = new Registry();
  r.withPlugin(plugin.name, () => plugin.register!(r));
  return r;
}

function presetConfig(name: string, presets: string[]): KavaConfigInput {
  const p = registry().get('preset', name);
  return typeof p.config === 'function' ? p.config({ presets }) : p.config;
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('@kava/plugin-backbone-qwen', () => {
  test('registers the qwen2 family with its presets', () => {
    const r = registry();
    const b = r.get('backbone', 'qwen2');
    expect(b.family.modelTypes).toEqual(['qwen2']);
    expect(Object.keys(b.shapes!)).toEqual(['tiny-qwen', 'qwen-0.5b']);
    expect(r.names('preset')).toEqual(['qwen-0.5b', 'tiny-qwen']);
  });

  test('qwen-0.5b has the published parameter count of Qwen2.5-0.5B', () => {
    expect(countParameters(shapeDecoderConfig(qwenFamily, qwenShapes['qwen-0.5b']!))).toBe(494_032_768);
  });

  test('qwen-0.5b carries Table 6: lr 5e-4 / wd 0.01 / MSE without layer-wise std on AUG, the AUG-NL row otherwise', () => {
    expect(presetConfig('qwen-0.5b', ['qwen-0.5b'])).toMatchObject({
      backbone: { preset: 'qwen-0.5b', family: 'qwen2', lora: { enabled: true, rank: 128 } },
      losses: { codi: { weight: 10 }, kv: { weight: 1, type: 'mse', layerwiseStd: false } },
      train: { lr: 5e-4, weightDecay: 0.01, epochs: 10 },
    });
    expect(presetConfig('qwen-0.5b', ['qwen-0.5b', 'gsm8k-aug-nl'])).toMatchObject({
      losses: { kv: { type: 'mse', layerwiseStd: true } },
      train: { lr: 8e-4, weightDecay: 0.1 },
    });
  });

  test('tiny-qwen is a random Qwen2-style model with q/k/v biases and a tied head; qwen-0.5b needs --model-dir', () => {
    const backbone = configSchema.parse({ backbone: { preset: 'tiny-qwen' } }).backbone;
    const built = createBackbone(registry(), backbone, { vocabSize: 30, seed: 2 });
    expect(built.family.name).toBe('qwen2');
    expect(built.backbone.config).toMatchObject({
      attentionBias: true,
      tieWordEmbeddings: true,
      ropeTheta: 1e4,
      ropeScaling: null,
      numLayers: 4,
      hiddenSize: 256,
    });
    expect(built.backbone.weights.layers[0]!.proj.q_proj.bias!.shape).toEqual([256]);
    expect(built.backbone.weights.lmHead).toBeNull();
    built.backbone.dispose();
    const real = configSchema.parse({ backbone: { preset: 'qwen-0.5b' } }).backbone;
    expect(() => createBackbone(registry(), real)).toThrow(ConfigError);
    expect(() => createBackbone(registry(), real)).toThrow(
      /Qwen\/Qwen2\.5-0\.5B-Instruct: pass --model Qwen\/Qwen2\.5-0\.5B-Instruct .*--model-dir at a folder holding it \(e\.g\. models\/qwen-0\.5b\)/,
    );
  });

  test('config.json round-trips through the family mapping, with the sliding window off', () => {
    const json = qwenFamily.toHFConfig(shapeDecoderConfig(qwenFamily, qwenShapes['qwen-0.5b']!));
    expect(json).toMatchObject({
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      hidden_size: 896,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
      use_sliding_window: false,
    });
    expect(qwenFamily.fromHFConfig(json)).toEqual(shapeDecoderConfig(qwenFamily, qwenShapes['qwen-0.5b']!));
  });
});
