import { nativeKernels, setNativeKernelsEnabled, tf } from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// The slice-copy GatherV2 against the stock kernels: every axis / batchDims / dtype combination
// the stock op accepts, forward and gradient. It needs no addon.

async function both(f: () => tf.Tensor): Promise<[number[], number[], number[]]> {
  const run = async (on: boolean) => {
    setNativeKernelsEnabled(on);
    try {
      const t = f();
      const out = [Array.from(await t.data()) as number[], t.shape] as const;
      t.dispose();
      return out;
    } finally {
      setNativeKernelsEnabled(true);
    }
  };
  const [fast, shape] = await run(true);
  const [stock, stockShape] = await run(false);
  expect(shape).toEqual(stockShape);
  return [fast, stock, shape];
}

describe.each(['wasm', 'cpu'] as const)('GatherV2 on %s', (backend) => {
  useKernelBackend(backend);

  it('is replaced by the slice-copy kernel', () => {
    expect(nativeKernels[backend]).toContain('GatherV2');
  });

  it('looks up embedding rows (hand-computed)', async () => {
    const table = tf.tensor2d([
      [0, 1],
      [10, 11],
      [20, 21],
    ]);
    const [fast, , shape] = await both(() =>
      tf.gather(
        table,
        tf.tensor2d(
          [
            [2, 0],
            [1, 2],
          ],
          undefined,
          'int32',
        ),
      ),
    );
    expect(shape).toEqual([2, 2, 2]);
    expect(fast).toEqual([20, 21, 0, 1, 10, 11, 20, 21]);
    table.dispose();
  });

  it.each([
    [
      'axis 0, 2-D ids',
      [7, 5],
      'float32',
      [
        [1, 6, 6],
        [0, 3, 2],
      ],
      0,
      0,
    ],
    ['axis 1', [3, 7, 4], 'float32', [6, 0, 6, 2], 1, 0],
    ['last axis, negative', [3, 4, 7], 'float32', [5, 1], -1, 0],
    ['int32 values', [7, 3], 'int32', [4, 4, 0], 0, 0],
    ['bool values', [7, 3], 'bool', [1, 6], 0, 0],
  ] as const)('agrees with the stock kernel: %s', async (_name, shape, dtype, ids, axis, batchDims) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(
      dtype === 'bool'
        ? Array.from({ length: n }, (_, i) => i % 3 === 0)
        : Array.from({ length: n }, (_, i) => i * 1.5 - 7),
      [...shape],
      dtype,
    );
    const idx = tf.tensor(ids as unknown as number[], undefined, 'int32');
    const [fast, stock] = await both(() => tf.gather(x, idx, axis, batchDims));
    expect(fast).toEqual(stock);
    tf.dispose([x, idx]);
  });

  it('gathers per batch with batchDims 1 (hand-computed; the stock wasm kernel gets this wrong)', async () => {
    // x[b][j] = [10b + j, -(10b + j)]; ids per batch b pick rows of x[b].
    const x = tf.tensor3d(
      Array.from({ length: 3 }, (_, b) => Array.from({ length: 4 }, (_, j) => [10 * b + j, -(10 * b + j)])),
    );
    const idx = tf.tensor2d(
      [
        [1, 2],
        [3, 3],
        [0, 2],
      ],
      undefined,
      'int32',
    );
    setNativeKernelsEnabled(true);
    const out = tf.gather(x, idx, 1, 1);
    expect(out.shape).toEqual([3, 2, 2]);
    expect(Array.from(await out.data())).toEqual([1, -1, 2, -2, 13, -13, 13, -13, 20, -20, 22, -22]);
    tf.dispose([x, idx, out]);
  });

  it('gives the stock gradient', async () => {
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
    const idx = tf.tensor1d([5, 0, 5, 2], 'int32');
    const [fast, stock] = await both(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, idx))))(x));
    fast.forEach((v, i) => expect(v).toBeCloseTo(stock[i]!, 6));
    tf.dispose([x, idx]);
  });

  it('leaves out-of-range ids to the stock kernel', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const idx = tf.tensor1d([0, 2], 'int32');
    const outcome = (on: boolean) => {
      setNativeKernelsEnabled(on);
      try {
        const t = tf.gather(x, idx);
        const v = Array.from(t.dataSync());
        t.dispose();
        return v;
      } catch (err) {
        return (err as Error).message;
      } finally {
        setNativeKernelsEnabled(true);
      }
    };
    expect(outcome(true)).toEqual(outcome(false));
    tf.dispose([x, idx]);
  });
});
