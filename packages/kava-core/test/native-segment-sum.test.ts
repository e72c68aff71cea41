import { nativeKernels, setNativeKernelsEnabled, tf } from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// UnsortedSegmentSum is the gradient of every embedding lookup (gather). The fast scatter-add
// replaces wasm's cpu bridge and the cpu backend's mask-per-segment kernel; it needs no addon.

describe.each(['wasm', 'cpu'] as const)('UnsortedSegmentSum on %s', (backend) => {
  useKernelBackend(backend);

  it('is replaced by the scatter-add kernel', () => {
    expect(nativeKernels[backend]).toContain('UnsortedSegmentSum');
  });

  it('adds rows into their segments and drops ids outside [0, numSegments)', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
      [9, 10],
    ]);
    const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 4);
    expect(out.shape).toEqual([4, 2]);
    // segment 0: row 1; segment 2: rows 0 and 2; ids -1 and 7 are dropped.
    expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
    tf.dispose([x, ids, out]);
  });

  it('sums int32 values and rank-3 rows', async () => {
    const x = tf.tensor3d([[[1, 2]], [[3, 4]], [[5, 6]]], undefined, 'int32');
    const out = tf.unsortedSegmentSum(x, tf.tensor1d([1, 1, 0], 'int32'), 2);
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([2, 1, 2]);
    expect(Array.from(await out.data())).toEqual([5, 6, 4, 6]);
    out.dispose();
  });

  it('gives the embedding gradient the stock kernels give', async () => {
    const table = tf.randomNormal([50, 8], 0, 1, 'float32', 7);
    const ids = tf.tensor2d(
      [
        [3, 9, 3, 0],
        [49, 9, 9, 1],
      ],
      undefined,
      'int32',
    );
    const up = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 8);
    const grad = (on: boolean) => {
      setNativeKernelsEnabled(on);
      try {
        return tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), up)))(table)
          .arraySync() as number[][];
      } finally {
        setNativeKernelsEnabled(true);
      }
    };
    const fast = grad(true);
    const stock = grad(false);
    fast.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(stock[i]![j]!, 5)));
    // Row 9 is looked up three times, row 2 never.
    expect(fast[2]!.every((v) => v === 0)).toBe(true);
    expect(fast[9]!.some((v) => v !== 0)).toBe(true);
    tf.dispose([table, ids, up]);
  });
});
