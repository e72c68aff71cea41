import { loadNativeAddon, nativeKernels, setNativeKernelsEnabled, tf } from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// The addon's vectorised Exp against Math.exp (float64) and the stock kernels, on wasm and cpu.
const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(
    `native Exp comparisons skipped: ${detail}. Build the addon with: npm run build:native (needs a C++ toolchain: g++, make, python3)`,
  );
}

describeNative.each(['wasm', 'cpu'] as const)('native Exp on %s', (backend) => {
  useKernelBackend(backend);

  it('is registered', () => {
    expect(nativeKernels[backend]).toContain('Exp');
  });

  it('is within 2.5e-7 relative of exp over the float range, 0 below it and Infinity above', async () => {
    const values = Array.from({ length: 4001 }, (_, i) => -86 + (172 * i) / 4000);
    const x = tf.tensor1d([...values, -1e9, -100, 100, Infinity, -Infinity]);
    const y = Array.from(await tf.exp(x).data());
    values.forEach((v, i) => {
      const ref = Math.exp(Math.fround(v));
      expect(Math.abs(y[i]! - ref) / ref).toBeLessThan(2.5e-7);
    });
    expect(y.slice(values.length)).toEqual([0, 0, Infinity, Infinity, 0]);
    expect(Number.isNaN((await tf.exp(tf.tensor1d([NaN])).data())[0])).toBe(true);
    x.dispose();
  });

  it('gives the softmax cross-entropy and its gradient the stock kernels give', async () => {
    const logits = tf.mul(tf.randomNormal([24, 100], 0, 1, 'float32', 5), 4);
    const labels = tf.oneHot(
      tf.tensor1d(
        [...Array(24).keys()].map((i) => (i * 7) % 100),
        'int32',
      ),
      100,
    );
    const run = (on: boolean) => {
      setNativeKernelsEnabled(on);
      try {
        const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, l))(logits);
        return [value.dataSync()[0]!, Array.from(grad.dataSync())] as const;
      } finally {
        setNativeKernelsEnabled(true);
      }
    };
    const [fastLoss, fastGrad] = run(true);
    const [stockLoss, stockGrad] = run(false);
    expect(fastLoss).toBeCloseTo(stockLoss, 5);
    fastGrad.forEach((g, i) => expect(g).toBeCloseTo(stockGrad[i]!, 6));
    tf.dispose([logits, labels]);
  });
});
