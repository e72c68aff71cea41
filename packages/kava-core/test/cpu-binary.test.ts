import { tf, initBackend, setNativeKernelsEnabled } from '@kava/core/app';

// The cpu backend's Add/Sub/Multiply/RealDiv replaced by allocation-free broadcasting loops: the same
// values as the stock kernels, on every broadcast shape class the models use.
const SHAPES: [number[], number[]][] = [
  [
    [4, 6],
    [4, 6],
  ], // same shape
  [[4, 6], []], // a scalar
  [[], [4, 6]],
  [
    [2, 5, 6],
    [2, 5, 1],
  ], // RMSNorm: x · rsqrt(mean) [N, S, 1]
  [[2, 5, 6], [6]], // a norm weight or a bias over the last axis
  [
    [3, 1, 1, 4, 7],
    [3, 2, 2, 4, 7],
  ], // an attention mask [B, 1, 1, S, T] over the scores
  [
    [1, 7],
    [5, 1],
  ], // both sides broadcast
  [
    [2, 3, 1, 4],
    [1, 3, 5, 1],
  ],
  [[0, 4], [4]], // empty
];

describe('cpu backend binary kernels', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => setNativeKernelsEnabled(true));

  test.each(['add', 'sub', 'mul', 'div'] as const)('%s matches the stock kernel on every broadcast class', (op) => {
    SHAPES.forEach(([sa, sb], i) => {
      const a = tf.randomUniform(sa, 0.5, 2, 'float32', i);
      const b = tf.randomUniform(sb, 0.5, 2, 'float32', 100 + i);
      setNativeKernelsEnabled(true);
      const fast = tf[op](a, b);
      setNativeKernelsEnabled(false);
      const stock = tf[op](a, b);
      expect(fast.shape).toEqual(stock.shape);
      expect(Array.from(fast.dataSync())).toEqual(Array.from(stock.dataSync()));
      tf.dispose([a, b, fast, stock]);
    });
    setNativeKernelsEnabled(true);
  });

  test('int32 and incompatible shapes go to the stock kernel (its result and its error)', () => {
    const sum = tf.add(tf.tensor1d([1, 2], 'int32'), tf.scalar(3, 'int32'));
    expect(sum.dtype).toBe('int32');
    expect(Array.from(sum.dataSync())).toEqual([4, 5]);
    expect(() => tf.add(tf.ones([2, 3]), tf.ones([4]))).toThrow(/broadcast|shapes/i);
  });
});
