import { join } from 'node:path';
import {
  tf,
  initBackend,
  loadHFBackbone,
  loadNativeAddon,
  holdsBaseNatively,
  ConfigError,
  resolveConfig,
  type Decoder,
} from '@kava/core/internal';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { llamaFamily } from '@kava/plugin-backbone-llama';
import { qwenFamily } from '@kava/plugin-backbone-qwen';
import { REPO } from './helpers.js';

// The frozen base of a LoRA run held in native memory (FrozenMatrix) must be the same model as
// the base held in backend tensors: same logits, same adapter gradients, same exported weights,
// with the base's bytes gone from the backend.

const FAMILIES = [llamaFamily, qwenFamily];
const FIXTURES = { llama: join(REPO, 'test/fixtures/hf-tiny-llama'), qwen: join(REPO, 'test/fixtures/hf-tiny-qwen') };
const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null)
  console.warn(
    `native base weights skipped: ${detail}. Build the addon with: npm run build:native (needs a C++ toolchain: g++, make, python3)`,
  );

const LORA = {
  rank: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const,
  seed: 3,
};

/** The fixture with LoRA (B made non-zero, so the adapters matter) and three added token rows, two inside the old table. */
function build(dir: string, nativeBase: boolean): Decoder {
  const { backbone } = loadHFBackbone(dir, FAMILIES, { nativeBase });
  expect(backbone.nativeBase).toBe(nativeBase);
  const adapters = backbone.attachLora({ ...LORA, targets: [...LORA.targets] });
  let i = 0;
  for (const ad of adapters.byPath.values()) ad.b.assign(tf.randomNormal(ad.b.shape, 0, 0.05, 'float32', 100 + i++));
  backbone.resizeVocab(backbone.vocabSize + 1, backbone.vocabSize - 2, 9);
  return backbone;
}

function loss(model: Decoder, ids: tf.Tensor2D): tf.Scalar {
  const logits = model.forward({ inputIds: ids }).logits!;
  return tf.mean(tf.square(logits)) as tf.Scalar;
}

describeNative.each(['wasm', 'cpu'] as const)('a native-held frozen base on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test.each(Object.entries(FIXTURES))(
    '%s: same logits, adapter gradients and exported weights as backend tensors',
    (_name, dir) => {
      const before = tf.memory().numBytes;
      const held = build(dir, false);
      const heldBytes = tf.memory().numBytes - before;
      const native = build(dir, true);
      const nativeBytes = tf.memory().numBytes - before - heldBytes;
      try {
        const ids = tf.tensor2d(
          [
            [1, 5, 9, 94, 17, 3],
            [2, 95, 40, 41, 7, 8],
          ],
          [2, 6],
          'int32',
        );
        const a = held.forward({ inputIds: ids, kv: 'post-rope' });
        const b = native.forward({ inputIds: ids, kv: 'post-rope' });
        // Relative to the largest value: the products sum in another order (W read transposed).
        const close = (x: tf.Tensor, y: tf.Tensor) =>
          tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]! / tf.max(tf.abs(x)).dataSync()[0]!;
        expect(close(a.logits!, b.logits!)).toBeLessThan(1e-5);
        expect(close(a.keys![1]!, b.keys![1]!)).toBeLessThan(1e-5);
        tf.dispose([a.logits!, b.logits!, ...a.keys!, ...b.keys!, ...a.values!, ...b.values!]);

        const gHeld = tf.variableGrads(() => loss(held, ids), held.trainableVariables());
        const gNative = tf.variableGrads(() => loss(native, ids), native.trainableVariables());
        const heldGrads = held.trainableVariables().map((v) => gHeld.grads[v.name]!);
        const nativeGrads = native.trainableVariables().map((v) => gNative.grads[v.name]!);
        expect(nativeGrads).toHaveLength(heldGrads.length);
        heldGrads.forEach((g, i) => {
          const scale = Math.max(1e-3, tf.max(tf.abs(g)).dataSync()[0]!);
          expect(tf.max(tf.abs(tf.sub(g, nativeGrads[i]!))).dataSync()[0]! / scale).toBeLessThan(1e-4);
        });
        tf.dispose([gHeld.value, gNative.value, ...heldGrads, ...nativeGrads, ids]);

        const exported = new Map(native.checkpointTensors().map((t) => [t.name, t]));
        for (const t of held.checkpointTensors()) {
          const x = t.read();
          const y = exported.get(t.name)!.read();
          expect(y.length).toBe(x.length);
          let worst = 0;
          for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
          expect(worst).toBeLessThan(1e-6);
        }
        // The base is in native memory: the backend holds only norms, biases, adapters and added rows.
        expect(nativeBytes).toBeLessThan(heldBytes / 2);
      } finally {
        held.dispose();
        native.dispose();
      }
    },
  );
});

describe('where the base weights live (backbone.baseWeights)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  async function backboneConfig(backbone: Record<string, unknown>) {
    return (
      await resolveConfig({ cwd: REPO, presets: [], builtinPlugins: BUILTIN_PLUGINS, overrides: { backbone } as never })
    ).config.backbone;
  }
  const tiny = loadHFBackbone(FIXTURES.llama, FAMILIES).backbone;
  const arch = tiny.config;
  tiny.dispose();

  test('"auto" keeps a small base as backend tensors, and a run without LoRA has no frozen base', async () => {
    expect(holdsBaseNatively(await backboneConfig({ modelDir: FIXTURES.llama, lora: { enabled: true } }), arch)).toBe(
      false,
    );
    expect(holdsBaseNatively(await backboneConfig({ modelDir: FIXTURES.llama, lora: { enabled: false } }), arch)).toBe(
      false,
    );
  });

  test('"auto" holds a base over 1 GiB natively when the native kernels are there', async () => {
    const big = { ...arch, vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16 };
    expect(holdsBaseNatively(await backboneConfig({ modelDir: FIXTURES.llama, lora: { enabled: true } }), big)).toBe(
      addon !== null,
    );
  });

  test('inference on a model directory has a frozen base too (a 1B model evaluated or asked without LoRA)', async () => {
    const big = { ...arch, vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16 };
    const config = await backboneConfig({ modelDir: FIXTURES.llama, lora: { enabled: false } });
    expect(holdsBaseNatively(config, big, { inference: true })).toBe(addon !== null);
    expect(holdsBaseNatively(config, big)).toBe(false); // full fine-tuning trains the base
  });

  test('"native" without a frozen base is refused, naming the setting', async () => {
    const config = await backboneConfig({ modelDir: FIXTURES.llama, baseWeights: 'native' });
    expect(() => holdsBaseNatively(config, arch)).toThrow(ConfigError);
    expect(() => holdsBaseNatively(config, arch)).toThrow(/backbone\.baseWeights: "native".*lora\.enabled/);
  });
});
