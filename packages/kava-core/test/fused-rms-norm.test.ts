import {
  FUSED_RMS_NORM,
  fusedRmsNormRuns,
  loadNativeAddon,
  rmsNorm,
  setNativeKernelsEnabled,
  tf,
} from '@kava/core/app';
import { useKernelBackend } from './helpers.js';

// The fused RMSNorm kernel against the composite of tfjs ops it replaces, values and gradients
// (x and weight), on every shape class the models use: [tokens, hidden] rows, [B, S, hidden],
// per-head [B, H, S, headDim] (Qwen3-style q/k norms), a single row (decoding).
const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(`fused RMSNorm comparisons skipped: ${detail}. Build the addon with: npm run build:native`);
}

function run(fused: boolean, f: () => tf.Tensor[]): Float32Array[] {
  setNativeKernelsEnabled(fused, [FUSED_RMS_NORM]);
  try {
    const out = tf.tidy(f);
    const values = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    return values;
  } finally {
    setNativeKernelsEnabled(true, [FUSED_RMS_NORM]);
  }
}

describeNative.each(['wasm', 'cpu'] as const)('fused RMSNorm on %s', (backend) => {
  useKernelBackend(backend);

  it('runs fused on float32 with a [d] weight, and not on other shapes', () => {
    const x = tf.zeros([2, 8]);
    expect(fusedRmsNormRuns(x, tf.ones([8]))).toBe(true);
    expect(fusedRmsNormRuns(x, tf.ones([1, 8]))).toBe(false);
    expect(fusedRmsNormRuns(x, tf.ones([4]))).toBe(false);
    setNativeKernelsEnabled(false, [FUSED_RMS_NORM]);
    expect(fusedRmsNormRuns(x, tf.ones([8]))).toBe(false);
    setNativeKernelsEnabled(true, [FUSED_RMS_NORM]);
  });

  it('matches a hand-computed row', () => {
    // x = [3, 4]: mean(x²) = 12.5, 1/sqrt(12.5 + 0.5) = 1/sqrt(13); weight [1, 2].
    const y = rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0.5).dataSync();
    expect(y[0]).toBeCloseTo(3 / Math.sqrt(13), 6);
    expect(y[1]).toBeCloseTo(8 / Math.sqrt(13), 6);
  });

  it.each([
    ['token rows', [37, 64]],
    ['a batch of sequences', [3, 11, 48]],
    ['per-head rows', [2, 4, 7, 16]],
    ['one row (decoding)', [1, 1, 256]],
  ])('%s %j: values and gradients agree with the composite', (_name, shape) => {
    const d = shape[shape.length - 1]!;
    const x = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), 3);
    const w = tf.add(tf.randomNormal([d], 0, 0.5, 'float32', 12), 1);
    const up = tf.randomNormal(shape, 0, 1, 'float32', 13); // a non-uniform upstream gradient
    const f = () => {
      const y = rmsNorm(x, w, 1e-5);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b, 1e-5), up)))([x, w]);
      return [y, gx!, gw!];
    };
    const fused = run(true, f);
    const composite = run(false, f);
    fused.forEach((values, i) => {
      const ref = composite[i]!;
      let scale = 0;
      for (const v of ref) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(values[j]! - ref[j]!));
      expect(worst / scale).toBeLessThan(1e-5);
    });
    tf.dispose([x, w, up]);
  });

  it('leaves no tensor behind across training-style steps', () => {
    const x = tf.randomNormal([5, 32], 0, 1, 'float32', 14);
    const w = tf.variable(tf.ones([32]));
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(rmsNorm(x, w, 1e-6))) as tf.Scalar, [w]);
        w.assign(tf.sub(w, tf.mul(grads[w.name]!, 0.01)));
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
