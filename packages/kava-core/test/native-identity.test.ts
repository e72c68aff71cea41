import { initBackend, nativeKernels, tf } from '@kava/core/internal';

// On wasm, Identity shares the input's memory instead of copying it (the engine clones every
// tensor a gradient saves). Sharing must stay invisible: values survive disposing either side.
describe('copy-free Identity on wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('is registered on wasm only', () => {
    expect(nativeKernels.wasm).toContain('Identity');
    expect(nativeKernels.cpu ?? []).not.toContain('Identity');
  });

  it('keeps the values when the original is disposed, and frees memory when both are', async () => {
    const before = tf.memory().numBytes;
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = tf.clone(x); // runs the Identity kernel
    const z = tf.clone(y);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(Array.from(await z.data())).toEqual([1, 2, 3, 4]);
    z.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });

  it('leaves gradients through saved tensors unchanged', async () => {
    // sigmoid saves its output for the gradient (cloned via Identity): d/dx sum(sigmoid(x)) = s(1-s).
    const x = tf.tensor1d([-2, 0, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.sigmoid(t)))(x);
    const s = [-2, 0, 3].map((v) => 1 / (1 + Math.exp(-v)));
    Array.from(await g.data()).forEach((v, i) => expect(v).toBeCloseTo(s[i]! * (1 - s[i]!), 6));
    tf.dispose([x, g]);
  });
});
