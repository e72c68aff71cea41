import { tf } from '../tf.js';
import { backendMemory, type TensorInfo } from './native-memory.js';

/**
 * Elementwise float32 Add / Sub / Multiply / RealDiv for the cpu backend, with broadcasting. The stock
 * kernels call the operation through a closure with a modulo per element and, when one side
 * broadcasts (an RMSNorm's [N, 1] scale or [H] weight, a bias, an attention mask), build three
 * index arrays per element: at a real model's sizes that loop and the garbage it leaves were
 * most of a training step on the cpu backend. Here the output is walked row by row over its last
 * dimension, each input read at its own stride (0 where it broadcasts), and nothing is allocated
 * per element.
 */
type Op = (
  a: Float32Array,
  ai: number,
  as: number,
  b: Float32Array,
  bi: number,
  bs: number,
  out: Float32Array,
  oi: number,
  n: number,
) => void;

// One loop per operation (a closure call per element is what made the stock kernel slow).
const OPS: Record<string, Op> = {
  Add: (a, ai, as, b, bi, bs, o, oi, n) => {
    for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! + b[bi]!;
  },
  Sub: (a, ai, as, b, bi, bs, o, oi, n) => {
    for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! - b[bi]!;
  },
  Multiply: (a, ai, as, b, bi, bs, o, oi, n) => {
    for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! * b[bi]!;
  },
  RealDiv: (a, ai, as, b, bi, bs, o, oi, n) => {
    for (let j = 0; j < n; j++, ai += as, bi += bs) o[oi + j] = a[ai]! / b[bi]!;
  },
};
export const CPU_BINARY_KERNELS = Object.keys(OPS);

/** Strides of `shape` aligned to the output's rank `rank`, 0 on the dimensions it broadcasts. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, d = out.length - 1; i >= 0; i--, d--) {
    strides[d] = shape[i] === 1 && out[d] !== 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** out = a (op) b over the broadcast shape. */
export function binaryBroadcast(
  op: Op,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  out: Float32Array,
  outShape: readonly number[],
): void {
  const rank = outShape.length;
  if (rank === 0 || (a.length === out.length && b.length === out.length)) {
    op(a, 0, 1, b, 0, 1, out, 0, out.length);
    return;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const inner = outShape[rank - 1]!;
  const rows = inner === 0 ? 0 : out.length / inner;
  const index = new Array<number>(rank - 1).fill(0); // odometer over the outer dimensions
  let ai = 0;
  let bi = 0;
  for (let r = 0; r < rows; r++) {
    op(a, ai, sa[rank - 1]!, b, bi, sb[rank - 1]!, out, r * inner, inner);
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      ai += sa[d]!;
      bi += sb[d]!;
      if (index[d]! < outShape[d]!) break;
      ai -= sa[d]! * outShape[d]!;
      bi -= sb[d]! * outShape[d]!;
      index[d] = 0;
    }
  }
}

/** The cpu kernel for `kernelName`, or undefined (stock kernel) for what it does not handle. */
export function cpuBinaryKernel(kernelName: string) {
  const op = OPS[kernelName]!;
  return ({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo | undefined => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    let outShape: number[];
    try {
      outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return undefined; // the stock kernel reports the shape error
    }
    const memory = backendMemory('cpu', backend)!;
    const out = memory.allocate(outShape, 'float32');
    binaryBroadcast(
      op,
      memory.view(a) as Float32Array,
      a.shape,
      memory.view(b) as Float32Array,
      b.shape,
      memory.view(out) as Float32Array,
      outShape,
    );
    return out;
  };
}
