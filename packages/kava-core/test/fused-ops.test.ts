import {
  AdamW,
  applyRotary,
  attentionProbs,
  FUSED_ADAMW,
  FUSED_ATTENTION_SOFTMAX,
  FUSED_RMS_NORM,
  FUSED_ROPE,
  FUSED_SWIGLU,
  loadNativeAddon,
  rmsNorm,
  rotaryTables,
  setNativeKernelsEnabled,
  swiglu,
  tf,
} from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// The fused kernels (runtime/fused-*.ts, native/src/rms_norm.cc, swiglu.cc and rope.cc) against the
// composites of tfjs ops they replace, values and every input's gradient, on the shape classes
// the models use: [tokens, hidden] rows, [B, S, hidden], per-head [B, H, S, headDim] (Qwen3-style
// q/k norms), one row (decoding); plus hand-computed values and a leak check across steps.
const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(`fused kernel comparisons skipped: ${detail}. Build the addon with: npm run build:native`);
}

/** Runs f with the fused op on or off (the composite) and returns its outputs' values. */
function run(name: string, fused: boolean, f: () => tf.Tensor[]): Float32Array[] {
  setNativeKernelsEnabled(fused, [name]);
  try {
    const out = tf.tidy(f);
    const values = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    return values;
  } finally {
    setNativeKernelsEnabled(true, [name]);
  }
}

function expectClose(fused: Float32Array[], composite: Float32Array[]): void {
  expect(fused.length).toBe(composite.length);
  fused.forEach((values, i) => {
    const ref = composite[i]!;
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(values[j]! - ref[j]!));
    expect(scale).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(1e-5);
  });
}

const SHAPES: Array<[string, number[]]> = [
  ['token rows', [37, 64]],
  ['a batch of sequences', [3, 11, 48]],
  ['per-head rows', [2, 4, 7, 16]],
  ['one row (decoding)', [1, 1, 256]],
];

describeNative.each(['wasm', 'cpu'] as const)('fused kernels on %s', (backend) => {
  useKernelBackend(backend);

  describe('RMSNorm', () => {
    it('matches a hand-computed row', () => {
      // x = [3, 4]: mean(x²) = 12.5, 1/sqrt(12.5 + 0.5) = 1/sqrt(13); weight [1, 2].
      const y = rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0.5).dataSync();
      expect(y[0]).toBeCloseTo(3 / Math.sqrt(13), 6);
      expect(y[1]).toBeCloseTo(8 / Math.sqrt(13), 6);
    });

    it('falls back to the composite for a weight that is not [d]', () => {
      const y = rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor2d([[1, 2]]), 0.5).dataSync();
      expect(y[1]).toBeCloseTo(8 / Math.sqrt(13), 6);
    });

    it.each(SHAPES)('%s %j: values and both gradients agree with the composite', (_name, shape) => {
      const d = shape[shape.length - 1]!;
      const x = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), 3);
      const w = tf.add(tf.randomNormal([d], 0, 0.5, 'float32', 12), 1);
      const up = tf.randomNormal(shape, 0, 1, 'float32', 13); // a non-uniform upstream gradient
      const f = () => [
        rmsNorm(x, w, 1e-5),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b, 1e-5), up)))([x, w]),
      ];
      expectClose(run(FUSED_RMS_NORM, true, f), run(FUSED_RMS_NORM, false, f));
      tf.dispose([x, w, up]);
    });
  });

  describe('SwiGLU', () => {
    it('matches hand-computed values', () => {
      // silu(g) = g / (1 + e^-g): silu(0) = 0, silu(2) = 2 / (1 + e^-2).
      const y = swiglu(tf.tensor1d([0, 2, -30]), tf.tensor1d([5, 3, 1])).dataSync();
      expect(y[0]).toBe(0);
      expect(y[1]).toBeCloseTo((3 * 2) / (1 + Math.exp(-2)), 5);
      expect(Math.abs(y[2]!)).toBeLessThan(1e-10);
    });

    it.each(SHAPES)('%s %j: values and both gradients agree with the composite', (_name, shape) => {
      const gate = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 21), 4);
      const upIn = tf.randomNormal(shape, 0, 1, 'float32', 22);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 23);
      const f = () => [
        swiglu(gate, upIn),
        ...tf.grads((g: tf.Tensor, u: tf.Tensor) => tf.sum(tf.mul(swiglu(g, u), dy)))([gate, upIn]),
      ];
      expectClose(run(FUSED_SWIGLU, true, f), run(FUSED_SWIGLU, false, f));
      tf.dispose([gate, upIn, dy]);
    });
  });

  describe('RoPE', () => {
    it('rotates a hand-computed pair', () => {
      // d = 2: y = [x1 cos - x2 sin, x2 cos + x1 sin], a rotation by the angle.
      const c = Math.cos(0.5);
      const s = Math.sin(0.5);
      const cos = tf.fill([1, 1, 1, 2], c);
      const sin = tf.fill([1, 1, 1, 2], s);
      const y = applyRotary(tf.tensor4d([1, 2], [1, 1, 1, 2]), cos, sin).dataSync();
      expect(y[0]).toBeCloseTo(c - 2 * s, 6);
      expect(y[1]).toBeCloseTo(2 * c + s, 6);
    });

    it.each([
      ['query heads', [2, 8, 13, 32]],
      ['one KV head', [3, 1, 9, 16]],
      ['one position (decoding)', [1, 4, 1, 64]],
    ])('%s %j: values and the gradient agree with the composite', (_name, shape) => {
      const [B, , S, d] = shape as [number, number, number, number];
      const positions = tf.tensor2d(
        Array.from({ length: B * S }, (_, i) => (i % S) + 3 * Math.floor(i / S)),
        [B, S],
        'int32',
      );
      const invFreq = tf.tensor1d(Array.from({ length: d / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / d)));
      const { cos, sin } = rotaryTables(positions, invFreq);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 31);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 32);
      const f = () => [
        applyRotary(x, cos, sin),
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(applyRotary(a, cos, sin), dy)))(x),
      ];
      expectClose(run(FUSED_ROPE, true, f), run(FUSED_ROPE, false, f));
      tf.dispose([positions, invFreq, cos, sin, x, dy]);
    });
  });

  describe('attention softmax', () => {
    it('matches a hand-computed row, masked key excluded', () => {
      // scores [1, 1, 1, 3] · 0.5 + bias [0, 0, -1e9]: softmax([0.5, 1]) over the first two keys.
      const p = attentionProbs(tf.tensor4d([1, 2, 9], [1, 1, 1, 3]), tf.tensor4d([0, 0, -1e9], [1, 1, 1, 3]), 0.5);
      const e = Math.exp(0.5) + Math.exp(1);
      const v = p.dataSync();
      expect(v[0]).toBeCloseTo(Math.exp(0.5) / e, 6);
      expect(v[1]).toBeCloseTo(Math.exp(1) / e, 6);
      expect(v[2]).toBe(0);
    });

    it.each([
      ['GQA scores [B, Hkv, G, S, T]', [2, 2, 4, 9, 13]],
      ['one head group', [3, 1, 1, 5, 5]],
      ['one query (decoding)', [1, 2, 4, 1, 17]],
    ])('%s %j: values and the gradient agree with the composite', (_name, shape) => {
      const [B, , , S, T] = shape as number[];
      const scores = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 61), 4);
      // A causal mask with a padded first key in batch 0, as attentionBias builds it.
      const bias = tf.tensor(
        Array.from({ length: B! * S! * T! }, (_, i) => {
          const t = i % T!;
          const s = Math.floor(i / T!) % S!;
          const b = Math.floor(i / (S! * T!));
          return t > T! - S! + s || (b === 0 && t === 0 && T! > 1) ? -1e9 : 0;
        }),
        [B!, 1, 1, S!, T!],
      );
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 62);
      const f = () => [
        attentionProbs(scores, bias, 0.25),
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(attentionProbs(x, bias, 0.25), dy)))(scores),
      ];
      expectClose(run(FUSED_ATTENTION_SOFTMAX, true, f), run(FUSED_ATTENTION_SOFTMAX, false, f));
      tf.dispose([scores, bias, dy]);
    });
  });

  describe('AdamW', () => {
    it('three steps, with and without weight decay, agree with the composite', () => {
      const steps = (fused: boolean) => {
        setNativeKernelsEnabled(fused, [FUSED_ADAMW]);
        try {
          const variables = new Map([
            ['w', tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 41))],
            ['norm', tf.variable(tf.randomNormal([5], 1, 0.1, 'float32', 42))],
          ]);
          const opt = new AdamW({ weightDecay: 0.1 });
          for (let i = 0; i < 3; i++) {
            const grads = new Map(
              [...variables].map(([n, v]) => [n, tf.randomNormal(v.shape, 0, 1, 'float32', 50 + i)]),
            );
            opt.apply(variables, grads, 0.01 * (i + 1), (n) => n !== 'norm');
            tf.dispose([...grads.values()]);
          }
          const out = [...variables.values(), ...opt.state().values()].map((t) => t.dataSync() as Float32Array);
          opt.dispose();
          tf.dispose([...variables.values()]);
          return out;
        } finally {
          setNativeKernelsEnabled(true, [FUSED_ADAMW]);
        }
      };
      expectClose(steps(true), steps(false));
    });
  });

  it('leaves no tensor behind across training-style steps', () => {
    const x = tf.randomNormal([5, 32], 0, 1, 'float32', 14);
    const w = tf.variable(tf.ones([32]));
    const step = () =>
      tf.tidy(() => {
        const cos = tf.fill([1, 1, 5, 32], 0.6);
        const sin = tf.fill([1, 1, 5, 32], 0.8);
        const rotated = (t: tf.Tensor) => tf.reshape(applyRotary(tf.reshape(t, [1, 1, 5, 32]), cos, sin), [5, 32]);
        const loss = () => tf.sum(tf.square(rotated(swiglu(rmsNorm(x, w, 1e-6), x)))) as tf.Scalar;
        const { grads } = tf.variableGrads(loss, [w]);
        w.assign(tf.sub(w, tf.mul(grads[w.name]!, 0.01)));
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
