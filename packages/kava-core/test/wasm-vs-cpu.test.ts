// Every op the decoder, the scorers and the losses use must give the same values and gradients
// on the wasm backend (with the kernels we register for it) as on the reference cpu backend.
import { initBackend, tf, elementwiseDistance, maskedCrossEntropy } from '@kava/core/internal';

type Tensor = tf.Tensor;

/** Deterministic inputs, identical on both backends. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

interface Case {
  name: string;
  shapes: number[][];
  /** Scalar function of the inputs; differentiated w.r.t. every input. */
  f: (...xs: Tensor[]) => Tensor;
}

const ids = () =>
  tf.tensor2d(
    [
      [1, 3, 0],
      [2, 2, 4],
    ],
    [2, 3],
    'int32',
  );
const cases: Case[] = [
  {
    name: 'matMul',
    shapes: [
      [5, 7],
      [7, 3],
    ],
    f: (a, b) => tf.sum(tf.matMul(a!, b!)),
  },
  {
    name: 'matMul transposeA',
    shapes: [
      [7, 5],
      [7, 3],
    ],
    f: (a, b) => tf.sum(tf.square(tf.matMul(a!, b!, true, false))),
  },
  {
    name: 'matMul transposeB',
    shapes: [
      [5, 7],
      [3, 7],
    ],
    f: (a, b) => tf.sum(tf.square(tf.matMul(a!, b!, false, true))),
  },
  {
    name: 'batched matMul 4D (attention QK^T)',
    shapes: [
      [2, 3, 4, 8],
      [2, 3, 6, 8],
    ],
    f: (q, k) => tf.sum(tf.square(tf.matMul(q!, k!, false, true))),
  },
  {
    name: 'batched matMul broadcast',
    shapes: [
      [2, 3, 4, 8],
      [8, 5],
    ],
    f: (a, b) => tf.sum(tf.square(tf.matMul(a!, tf.broadcastTo(b!, [2, 3, 8, 5])))),
  },
  {
    name: 'embedding gather (UnsortedSegmentSum grad)',
    shapes: [[6, 4]],
    f: (table) => tf.sum(tf.square(tf.gather(table!, ids()))),
  },
  {
    name: 'rmsnorm',
    shapes: [[2, 3, 8], [8]],
    f: (x, w) => tf.sum(tf.square(tf.mul(tf.mul(x!, tf.rsqrt(tf.add(tf.mean(tf.square(x!), -1, true), 1e-6))), w!))),
  },
  {
    name: 'softmax + logSoftmax',
    shapes: [[2, 3, 7]],
    f: (x) => tf.add(tf.sum(tf.square(tf.softmax(x!))), tf.sum(tf.logSoftmax(x!))),
  },
  {
    name: 'silu (SwiGLU gate)',
    shapes: [
      [4, 6],
      [4, 6],
    ],
    f: (g, u) => tf.sum(tf.square(tf.mul(tf.mul(g!, tf.sigmoid(g!)), u!))),
  },
  {
    name: 'gelu (erf) + tanh',
    shapes: [[4, 6]],
    f: (x) => tf.sum(tf.add(tf.mul(tf.mul(x!, 0.5), tf.add(1, tf.erf(tf.div(x!, Math.SQRT2)))), tf.tanh(x!))),
  },
  // (a plain sum of squares of a normalised row is constant, so weight it by a second input)
  {
    name: 'layerNorm (moments)',
    shapes: [[3, 8], [8]],
    f: (x, w) => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.sum(tf.mul(tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, 1e-5))), w!));
    },
  },
  {
    name: 'exp/log/abs/neg/maximum',
    shapes: [[3, 5]],
    f: (x) => tf.sum(tf.add(tf.log(tf.add(tf.exp(x!), 1)), tf.maximum(tf.abs(x!), tf.neg(x!)))),
  },
  {
    name: 'concat/slice/reshape/transpose',
    shapes: [
      [2, 3, 4],
      [2, 3, 4],
    ],
    f: (a, b) =>
      tf.sum(
        tf.square(
          tf.transpose(tf.reshape(tf.slice(tf.concat([a!, b!], 1), [0, 1, 0], [2, 4, 4]), [2, 4, 2, 2]), [0, 2, 1, 3]),
        ),
      ),
  },
  {
    name: 'stack/tile/expandDims/squeeze',
    shapes: [[3, 4]],
    f: (x) => tf.sum(tf.square(tf.squeeze(tf.tile(tf.expandDims(tf.stack([x!, tf.mul(x!, 2)]), 1), [1, 2, 1, 1])))),
  },
  {
    name: 'where/less (masking)',
    shapes: [[3, 5]],
    f: (x) =>
      tf.sum(
        tf.where(
          tf.less(
            tf.tensor2d([
              [1, -1, 1, -1, 1],
              [-1, -1, 1, 1, 1],
              [1, 1, 1, -1, -1],
            ]),
            0,
          ),
          tf.mul(x!, -3),
          tf.square(x!),
        ),
      ),
  },
  { name: 'max/sum reductions', shapes: [[2, 3, 5]], f: (x) => tf.add(tf.sum(tf.max(x!, -1)), tf.sum(tf.mean(x!, 1))) },
  {
    name: 'cosine similarity (scorers)',
    shapes: [[2, 6, 4]],
    f: (k) => {
      const n = tf.div(k!, tf.norm(k!, 'euclidean', -1, true));
      return tf.sum(tf.square(tf.matMul(n, n, false, true)));
    },
  },
  {
    name: 'masked cross-entropy',
    shapes: [[2, 3, 6]],
    f: (logits) =>
      maskedCrossEntropy(
        logits!,
        tf.tensor2d(
          [
            [1, 5, 0],
            [2, 3, 4],
          ],
          [2, 3],
          'int32',
        ),
        tf.tensor2d([
          [1, 1, 0],
          [0, 1, 1],
        ]),
      ),
  },
  {
    name: 'smooth-L1 / L1 / MSE distances',
    shapes: [
      [3, 4],
      [3, 4],
    ],
    f: (a, b) =>
      tf.add(
        tf.add(tf.sum(elementwiseDistance(tf.mul(a!, 3), b!, 'smooth-l1')), tf.sum(elementwiseDistance(a!, b!, 'l1'))),
        tf.sum(elementwiseDistance(a!, b!, 'mse')),
      ),
  },
];

async function run(backend: 'cpu' | 'wasm', c: Case): Promise<{ value: Float32Array; grads: Float32Array[] }> {
  await initBackend(backend);
  return tf.tidy(() => {
    const xs = c.shapes.map((shape, i) =>
      tf.tensor(
        values(
          shape.reduce((a, b) => a * b, 1),
          17 + i,
        ),
        shape,
      ),
    );
    const { value, grads } = tf.valueAndGrads((...inputs: Tensor[]) => c.f(...inputs) as tf.Scalar)(xs);
    return { value: value.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

describe('wasm backend matches cpu backend (values and gradients)', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cpu = await run('cpu', c);
    const wasm = await run('wasm', c);
    expect(relativeError(wasm.value, cpu.value)).toBeLessThan(1e-4);
    expect(wasm.grads).toHaveLength(cpu.grads.length);
    cpu.grads.forEach((g, i) => {
      expect(Number.isFinite(g[0])).toBe(true);
      expect(relativeError(wasm.grads[i]!, g)).toBeLessThan(1e-4);
    });
  });
});
