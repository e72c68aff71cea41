import {
  initBackend,
  loadNativeAddon,
  nativeKernels,
  nativeKernelsEnabled,
  planMatmul,
  setNativeKernelsEnabled,
  tf,
} from '@kava/core/internal';
import { useKernelBackend } from './helpers.js';

// The fast (native sgemm) and stock tfjs kernels must agree on every shape class the models use:
// projections (a stack times a weight), attention (batched, transposed), gradients (every
// transpose combination), fused bias + activation. Each case runs twice in one process, fast
// kernels on and off, on both the wasm and cpu backends.

const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(
    `native matmul comparisons skipped: ${detail}. Build the addon with: npm run build:native (needs a C++ toolchain: g++, make, python3)`,
  );
}

/** Runs `f` with the fast kernels on or off and returns its results as flat arrays. */
async function runWith(on: boolean, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  setNativeKernelsEnabled(on);
  try {
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(list);
    return values;
  } finally {
    setNativeKernelsEnabled(true);
  }
}

/** Runs `f` with the fast kernels on, then off. */
async function fastAndStock(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  return [await runWith(true, f), await runWith(false, f)];
}

function expectClose(fast: Float32Array[], stock: Float32Array[]): void {
  expect(fast.length).toBe(stock.length);
  fast.forEach((f, i) => {
    const s = stock[i]!;
    expect(f.length).toBe(s.length);
    let scale = 0;
    for (const v of s) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let j = 0; j < f.length; j++) worst = Math.max(worst, Math.abs(f[j]! - s[j]!));
    expect(scale).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(2e-6 * Math.max(1, Math.sqrt(f.length / 64)));
  });
}

let seed = 1;
const rand = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

/** [a shape, b shape, transposeA, transposeB] for each class of product. */
const PRODUCTS: Array<[string, number[], number[], boolean, boolean]> = [
  ['plain 2-D', [33, 17], [17, 29], false, false],
  ['transposeA', [17, 33], [17, 29], true, false],
  ['transposeB', [33, 17], [29, 17], false, true],
  ['both transposed', [17, 33], [29, 17], true, true],
  ['batched (attention scores, QKᵀ)', [6, 21, 8], [6, 21, 8], false, true],
  ['batched, transposeA (attention gradient)', [6, 21, 8], [6, 21, 13], true, false],
  ['rank 4 batch, both transposed', [2, 3, 9, 7], [2, 3, 11, 9], true, true],
  ['stack times a shared weight (projection)', [2, 3, 19, 16], [16, 24], false, false],
  ['stack times a shared transposed weight (tied vocab)', [4, 19, 16], [40, 16], false, true],
  ['transposed stack times a shared weight', [4, 16, 19], [16, 24], true, false],
  ['shared left matrix times a stack', [19, 16], [5, 16, 24], false, false],
  ['batch dims of rank 1 and 3 broadcast', [1, 12, 5], [2, 2, 5, 7], false, false],
  // One row (decoding one token): a matrix-vector product.
  ['one row times a weight', [1, 17], [17, 29], false, false],
  ['one row times a transposed weight (tied vocab)', [1, 17], [29, 17], false, true],
  ['one transposed row times a weight', [17, 1], [17, 29], true, false],
  ['a stack of one row times a shared weight', [1, 1, 17], [17, 29], false, false],
];

describe.each(['wasm', 'cpu'] as const)('fast vs stock matmul on %s', (backend) => {
  useKernelBackend(backend);

  describeNative('with the native addon', () => {
    it('names the BLAS and its thread count on the backend line', async () => {
      const info = await initBackend(backend);
      expect(info.description).toMatch(
        /; native sgemm: (OpenBLAS \d+\.\d+\.\d+|KaVa portable GEMM) \(\w+\), \d+ threads?(, up to \d+ on large wasm products while cores are idle)?$/,
      );
    });

    it('replaces BatchMatMul and _FusedMatMul', () => {
      expect(nativeKernels[backend]).toEqual(expect.arrayContaining(['BatchMatMul', '_FusedMatMul']));
    });

    it.each(PRODUCTS)('%s: forward', async (_name, sa, sb, ta, tb) => {
      const a = rand(sa);
      const b = rand(sb);
      expect(planMatmul(a, b, ta, tb)).toBeDefined(); // the fast kernel really runs this case
      expectClose(...(await fastAndStock(() => tf.matMul(a, b, ta, tb))));
      tf.dispose([a, b]);
    });

    // tfjs's BatchMatMul gradient does not sum over broadcast batch dims (it fails on the stock
    // kernels too), so models tile or reshape instead; gradients are compared where tfjs defines them.
    const SAME_BATCH = PRODUCTS.filter(
      ([, sa, sb]) => sa.length === sb.length && sa.slice(0, -2).every((d, i) => d === sb[i]),
    );
    it.each(SAME_BATCH)('%s: gradients', async (_name, sa, sb, ta, tb) => {
      const a = rand(sa);
      const b = rand(sb);
      const outShape = tf.tidy(() => tf.matMul(a, b, ta, tb).shape);
      const w = rand(outShape); // a non-uniform upstream gradient
      const grads = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
      expectClose(...(await fastAndStock(grads)));
      tf.dispose([a, b, w]);
    });

    // Reference: the unfused composite on the stock kernels. (The stock wasm _FusedMatMul itself
    // adds the bias wrongly for a batch > 1 — measured: off by ~2 — so it is no reference.)
    const ACT: Record<string, (x: tf.Tensor) => tf.Tensor> = {
      linear: (x) => x,
      relu: tf.relu,
      relu6: tf.relu6,
      leakyrelu: (x) => tf.leakyRelu(x, 0.3),
      sigmoid: tf.sigmoid,
      elu: tf.elu,
    };
    it.each([
      ['linear', [24]],
      ['relu', [24]],
      ['relu6', [1]],
      ['leakyrelu', [1, 24]],
      ['sigmoid', [24]],
      ['elu', [24]],
    ] as const)(
      'fused matmul with %s and bias %j: forward and gradients match the unfused ops',
      async (activation, biasShape) => {
        const a = tf.mul(rand([3, 10, 16]), 3);
        const b = rand([3, 16, 24]);
        const bias = rand([...biasShape]);
        const w = rand([3, 10, 24]);
        const fused = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
          tf.fused.matMul({ a: x as tf.Tensor3D, b: y as tf.Tensor3D, bias: z, activation, leakyreluAlpha: 0.3 });
        const unfused = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => ACT[activation]!(tf.add(tf.matMul(x, y), z));
        const loss = (f: typeof fused) => (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x, y, z), w));
        const fast = await runWith(true, () => [fused(a, b, bias), ...tf.grads(loss(fused))([a, b, bias])]);
        const reference = await runWith(false, () => [unfused(a, b, bias), ...tf.grads(loss(unfused))([a, b, bias])]);
        expectClose(fast, reference);
        tf.dispose([a, b, bias, w]);
      },
    );

    it('fused matmul without bias, transposed, agrees', async () => {
      const a = rand([2, 16, 10]);
      const b = rand([2, 24, 16]);
      expectClose(
        ...(await fastAndStock(() =>
          tf.fused.matMul({ a, b, transposeA: true, transposeB: true, activation: 'relu' }),
        )),
      );
      tf.dispose([a, b]);
    });

    it('matches a hand-computed product', async () => {
      const c = tf.matMul(
        tf.tensor2d([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        tf.tensor2d([
          [7, 8],
          [9, 10],
          [11, 12],
        ]),
      );
      expect(Array.from(await c.data())).toEqual([58, 64, 139, 154]);
      c.dispose();
    });
  });

  it('leaves what the fast kernel cannot run to the stock kernel', async () => {
    // Batch dims [3,1] x [1,4] broadcast to [3,4]: neither side is a single matrix nor the full batch.
    const a = rand([3, 1, 4, 5]);
    const b = rand([1, 4, 5, 6]);
    expect(planMatmul(a, b, false, false)).toBeUndefined();
    const [fast, stock] = await fastAndStock(() => tf.matMul(a, b));
    expect(Array.from(fast[0]!)).toEqual(Array.from(stock[0]!));
    // int32 inputs and empty products also go to the stock kernel.
    expect(planMatmul(tf.zeros([2, 2], 'int32'), tf.zeros([2, 2], 'int32'), false, false)).toBeUndefined();
    expect(planMatmul(tf.zeros([0, 2]), tf.zeros([2, 3]), false, false)).toBeUndefined();
    tf.dispose([a, b]);
  });
});

describe('switching fast kernels', () => {
  afterAll(() => setNativeKernelsEnabled(true));
  it('switches named kernels alone, or all of them', () => {
    setNativeKernelsEnabled(false, ['BatchMatMul', '_FusedMatMul']);
    expect([nativeKernelsEnabled('BatchMatMul'), nativeKernelsEnabled('GatherV2'), nativeKernelsEnabled()]).toEqual([
      false,
      true,
      false,
    ]);
    setNativeKernelsEnabled(true, ['BatchMatMul', '_FusedMatMul']);
    expect(nativeKernelsEnabled()).toBe(true);
    setNativeKernelsEnabled(false);
    expect(nativeKernelsEnabled('GatherV2')).toBe(false);
    setNativeKernelsEnabled(true);
    expect(nativeKernelsEnabled('GatherV2')).toBe(true);
  });
});

describeNative('native addon arguments', () => {
  it('refuses extents outside the buffer instead of writing past it', () => {
    const buf = new Float32Array(4).buffer;
    expect(() => addon!.matmul(buf, 0, buf, 0, buf, 8, 1, 2, 2, 2, false, false, 0, 0, null, 0, 0, 0, 0)).toThrow(
      /do not fit in a buffer of 16 bytes/,
    );
  });
});
