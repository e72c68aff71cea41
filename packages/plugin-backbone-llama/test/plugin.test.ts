import { join } from 'node:path';
import {
  Registry,
  ConfigError,
  KavaError,
  initBackend,
  backboneArchitecture,
  resolveConfig,
  configSchema,
  createBackbone,
  shapeDecoderConfig,
  countParameters,
  estimateMemory,
  assertFitsBackend,
  formatMemoryEstimate,
  type KavaConfig,
  type KavaConfigInput,
} from '@kava/core/internal';
import plugin, { llamaFamily, llamaShapes } from '@kava/plugin-backbone-llama';
import { REPO, tempProject } from '../../kava-core/test/helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

function registry(): Registry {
  const r = new Registry();
  r.withPlugin(plugin.name, () => plugin.register!(r));
  return r;
}

/** The resolved `backbone` section for a partial one. */
const backboneConfig = (b: KavaConfigInput['backbone'] = {}): KavaConfig['backbone'] =>
  configSchema.parse({ backbone: b }).backbone;

/** A preset's settings for the given preset list. */
function presetConfig(name: string, presets: string[]): KavaConfigInput {
  const p = registry().get('preset', name);
  return typeof p.config === 'function' ? p.config({ presets }) : p.config;
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('@kava/plugin-backbone-llama', () => {
  test('registers the llama family with its presets', () => {
    const r = registry();
    const b = r.get('backbone', 'llama');
    expect(b.plugin).toBe('@kava/plugin-backbone-llama');
    expect(b.family.modelTypes).toEqual(['llama']);
    expect(Object.keys(b.shapes!)).toEqual(['tiny-llama', 'llama-1b', 'llama-3b']);
    expect(r.list('preset').map((p) => [p.name, p.kind])).toEqual([
      ['llama-1b', 'backbone'],
      ['llama-3b', 'backbone'],
      ['tiny-llama', 'backbone'],
    ]);
  });

  test('the real presets have the published parameter counts of Llama-3.2-1B and -3B', () => {
    const count = (name: string) => countParameters(shapeDecoderConfig(llamaFamily, llamaShapes[name]!));
    expect(count('llama-1b')).toBe(1_235_814_400);
    expect(count('llama-3b')).toBe(3_212_749_824);
  });

  test("real presets carry the paper's Table 6 settings, AUG-NL when gsm8k-aug-nl is named", () => {
    expect(presetConfig('llama-1b', ['llama-1b', 'kava'])).toMatchObject({
      backbone: { preset: 'llama-1b', family: 'llama', lora: { enabled: true, rank: 128, alpha: 32, dropout: 0.1 } },
      losses: { codi: { weight: 10 }, kv: { weight: 1, type: 'smooth-l1', layerwiseStd: true } },
      train: { lr: 8e-4, weightDecay: 0.1, epochs: 10, batchSize: 128, clip: 2 },
      compression: { scorer: 'rkv', options: { lambda: 0.1 } },
    });
    expect(presetConfig('llama-1b', ['llama-1b', 'gsm8k-aug-nl'])).toMatchObject({
      losses: { kv: { type: 'mse', layerwiseStd: true } },
    });
    expect(presetConfig('llama-3b', ['llama-3b'])).toMatchObject({
      losses: { codi: { weight: 20 }, kv: { weight: 2, layerwiseStd: false } },
      latent: { projection: true },
      train: { lr: 2e-4, epochs: 5 },
    });
    expect(presetConfig('llama-3b', ['gsm8k-aug-nl', 'llama-3b'])).toMatchObject({
      latent: { projection: false },
      compression: { options: { lambda: 0 } },
      losses: { kv: { type: 'smooth-l1' } },
    });
  });

  test('`--preset llama-1b` resolves through the config loader with the built-in plugins', async () => {
    const { config } = await resolveConfig({
      cwd: tempProject(),
      presets: ['llama-1b'],
      builtinPlugins: BUILTIN_PLUGINS,
    });
    expect(config.backbone).toMatchObject({ preset: 'llama-1b', family: 'llama', lora: { enabled: true, rank: 128 } });
    expect(config.train.lr).toBe(8e-4);
  });

  test('a real preset without --model-dir says what to download and where to point it', () => {
    let error: unknown;
    try {
      createBackbone(registry(), backboneConfig({ preset: 'llama-1b' }), { vocabSize: 128256 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /meta-llama\/Llama-3\.2-1B-Instruct: pass --model meta-llama\/Llama-3\.2-1B-Instruct .*`kava download meta-llama\/Llama-3\.2-1B-Instruct`.*--model-dir at a folder holding it \(e\.g\. models\/llama-1b\)/,
    );
  });

  test("tiny-llama builds a random model of the preset architecture with the tokenizer's vocabulary", () => {
    const { backbone, family } = createBackbone(registry(), backboneConfig({ preset: 'tiny-llama' }), {
      vocabSize: 50,
      seed: 1,
    });
    expect(family.name).toBe('llama');
    expect(backbone.config).toMatchObject({
      vocabSize: 50,
      numLayers: 4,
      hiddenSize: 256,
      numHeads: 8,
      numKvHeads: 2,
      intermediateSize: 688,
      tieWordEmbeddings: true,
    });
    expect(backbone.adapters).toBeNull();
    backbone.dispose();
    const small = createBackbone(
      registry(),
      backboneConfig({
        preset: 'tiny-llama',
        overrides: { numLayers: 2, hiddenSize: 64 },
        lora: { enabled: true, rank: 4 },
      }),
      { vocabSize: 50 },
    );
    expect(small.backbone.config).toMatchObject({ numLayers: 2, hiddenSize: 64, headDim: 8 });
    expect(small.backbone.adapters!.byPath.size).toBe(2 * 7);
    small.backbone.dispose();
    // The config schema refuses an unknown field; a config built in code, past the schema, is refused by the builder.
    expect(() => backboneConfig({ preset: 'tiny-llama', overrides: { layers: 2 } as never })).toThrow(
      /Unrecognized key: \\"layers\\"/,
    );
    const unchecked = { ...backboneConfig({ preset: 'tiny-llama' }), overrides: { layers: 2 } as never };
    expect(() => createBackbone(registry(), unchecked, { vocabSize: 50 })).toThrow(
      /backbone\.overrides\.layers: unknown architecture field/,
    );
    expect(() => createBackbone(registry(), backboneConfig({ preset: 'tiny-gpt' }), { vocabSize: 50 })).toThrow(
      /no loaded backbone plugin provides "tiny-gpt". Available: llama-1b, llama-3b, tiny-llama/,
    );
  });

  test('backbone.modelDir loads a Hugging Face directory; a family mismatch is refused', () => {
    const dir = join(REPO, 'test/fixtures/hf-tiny-llama');
    const { backbone } = createBackbone(registry(), backboneConfig({ modelDir: dir }));
    expect(backbone.config.vocabSize).toBe(96);
    backbone.dispose();
    expect(() => createBackbone(registry(), backboneConfig({ modelDir: dir, family: 'qwen2' }))).toThrow(
      /backbone\.family is "qwen2" but .* holds a "llama" model/,
    );
  });

  test('the architecture for a dry run comes from the preset or the model directory, without loading weights', () => {
    expect(backboneArchitecture(registry(), backboneConfig({ preset: 'llama-1b' }))).toMatchObject({
      vocabSize: 128256,
      numLayers: 16,
      hiddenSize: 2048,
    });
    expect(
      backboneArchitecture(registry(), backboneConfig({ preset: 'tiny-llama', overrides: { numLayers: 2 } }), 70),
    ).toMatchObject({ vocabSize: 70, numLayers: 2 });
    expect(
      backboneArchitecture(registry(), backboneConfig({ modelDir: join(REPO, 'test/fixtures/hf-tiny-llama') })),
    ).toMatchObject({ vocabSize: 96, numLayers: 2, family: 'llama' });
  });

  test('the memory estimate refuses a run that exceeds the wasm heap and says what to change', () => {
    const llama1b = shapeDecoderConfig(llamaFamily, llamaShapes['llama-1b']!);
    const full = estimateMemory(llama1b, { batch: 1, seqLen: 128, backend: 'wasm' });
    expect(full.weights).toBe(4 * 1_235_814_400);
    expect(full.optimizer).toBe(8 * 1_235_814_400);
    expect(() => assertFitsBackend(full, 'llama-1b')).toThrow(KavaError);
    expect(() => assertFitsBackend(full, 'llama-1b')).toThrow(
      /llama-1b needs about .* GiB.*more than the wasm backend's 4\.00 GiB heap\. The weights and optimizer state alone do not fit: use --backend tensorflow/,
    );
    expect(() => assertFitsBackend({ ...full, backend: 'tensorflow', limit: null })).not.toThrow();
    const tiny = estimateMemory(shapeDecoderConfig(llamaFamily, llamaShapes['tiny-llama']!, { vocabSize: 64 }), {
      batch: 8,
      seqLen: 96,
      backend: 'wasm',
      forwardPasses: 2,
    });
    expect(() => assertFitsBackend(tiny)).not.toThrow();
    expect(formatMemoryEstimate(tiny)).toMatch(
      /parameters: 2\.\dM \(2\.\dM trainable\)\nmemory \(fp32\): weights .*\nbackend wasm: heap limit 4\.00 GiB \(fits\)/,
    );
    const lora = estimateMemory(llama1b, {
      batch: 1,
      seqLen: 128,
      backend: 'wasm',
      lora: { rank: 128, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    });
    // r·(in + out) per projection per layer: 128·(3·(2048+2048) ... ) summed over 16 layers.
    expect(lora.trainableParameters).toBe(16 * 128 * ((2048 + 2048) * 2 + (2048 + 512) * 2 + (2048 + 8192) * 3));
  });
});
