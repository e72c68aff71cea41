import { loadNativeAddon, nativeKernels, setNativeKernelsEnabled, tf } from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// The native Sum over a contiguous block of axes against the stock kernel, on wasm and cpu:
// leading axes (gradients of broadcast ops), the last axis, a middle block, all axes, keepDims,
// negative axes, and the cases it hands back (scattered axes, int32).
const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(
    `native Sum comparisons skipped: ${detail}. Build the addon with: npm run build:native (needs a C++ toolchain: g++, make, python3)`,
  );
}

function both(f: () => tf.Tensor): [tf.Tensor, tf.Tensor] {
  const fast = tf.tidy(f);
  setNativeKernelsEnabled(false, ['Sum']);
  try {
    return [fast, tf.tidy(f)];
  } finally {
    setNativeKernelsEnabled(true, ['Sum']);
  }
}

describeNative.each(['wasm', 'cpu'] as const)('native Sum on %s', (backend) => {
  useKernelBackend(backend);

  it('is registered', () => {
    expect(nativeKernels[backend]).toContain('Sum');
  });

  it('matches a hand-computed sum', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
    expect(Array.from(tf.sum(x, [0, 1]).dataSync())).toEqual([36, 42]);
    expect(Array.from(tf.sum(x, 1).dataSync())).toEqual([9, 12, 27, 30]);
    expect(Array.from(tf.sum(x, -1, true).dataSync())).toEqual([3, 7, 11, 15, 19, 23]);
    expect(tf.sum(x, -1, true).shape).toEqual([2, 3, 1]);
    expect(tf.sum(x).dataSync()[0]).toBe(78);
    x.dispose();
  });

  it.each([
    ['leading axes (a norm weight gradient)', [4, 37, 64], [0, 1], false],
    ['the last axis (softmax denominators)', [6, 5, 131], [2], false],
    ['a middle block', [3, 4, 5, 7], [1, 2], true],
    ['every axis', [9, 11, 13], null, false],
    ['negative axes, keepDims', [5, 6, 7], [-3, -2], true],
  ] as const)('%s agrees with the stock kernel', (_name, shape, axes, keepDims) => {
    const x = tf.randomNormal([...shape], 0, 1, 'float32', 3);
    const [fast, stock] = both(() => tf.sum(x, axes === null ? undefined : [...axes], keepDims));
    expect(fast.shape).toEqual(stock.shape);
    const f = fast.dataSync();
    const s = stock.dataSync();
    for (let i = 0; i < s.length; i++) expect(Math.abs(f[i]! - s[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(s[i]!)));
    tf.dispose([x, fast, stock]);
  });

  it('hands scattered axes and int32 to the stock kernel (same result, bit for bit)', () => {
    const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 4);
    const [fast, stock] = both(() => tf.sum(x, [0, 2]));
    expect(Array.from(fast.dataSync())).toEqual(Array.from(stock.dataSync()));
    const i = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    expect(Array.from(tf.sum(i, 0).dataSync())).toEqual([4, 6]);
    tf.dispose([x, fast, stock, i]);
  });

  it('reads float32 tensors cast from bool and int32 (the cpu Cast shares their integer values)', () => {
    const fromBool = tf.cast(tf.tensor2d([true, false, true, true, false, true], [2, 3], 'bool'), 'float32');
    const fromInt = tf.cast(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), 'float32');
    expect(Array.from(tf.sum(fromBool, 0).dataSync())).toEqual([2, 0, 2]);
    expect(Array.from(tf.sum(fromInt, 1).dataSync())).toEqual([6, 15]);
    // The native matmul reads the same way.
    expect(Array.from(tf.matMul(fromInt, fromBool, false, true).dataSync())).toEqual([4, 4, 10, 10]);
    tf.dispose([fromBool, fromInt]);
  });

  it('gives the gradient of a broadcast add the stock kernels give', () => {
    const x = tf.randomNormal([8, 21, 32], 0, 1, 'float32', 5);
    const bias = tf.randomNormal([32], 0, 1, 'float32', 6);
    const w = tf.randomNormal([8, 21, 32], 0, 1, 'float32', 7);
    const [fast, stock] = both(() => tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.add(x, b), w)))(bias));
    const f = fast.dataSync();
    const s = stock.dataSync();
    for (let k = 0; k < s.length; k++) expect(f[k]).toBeCloseTo(s[k]!, 3);
    tf.dispose([x, bias, w, fast, stock]);
  });
});
