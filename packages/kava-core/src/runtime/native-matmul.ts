import { tf } from '../tf.js';
import type { NativeAddon } from './native-addon.js';
import { useThreadsFor } from './blas-threads.js';
import { type BackendMemory, type TensorInfo } from './native-memory.js';

/** Activation codes shared with native/src/matmul.h. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

/** A product the native kernel can run, in BLAS terms. */
export interface MatmulPlan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
}

/**
 * Plans `a @ b` (with optional transposes) over the leading batch dimensions. Returns undefined
 * for what the native kernel does not handle, so the caller falls back to the stock kernel:
 * non-float32 inputs, empty tensors, rank < 2, and broadcasting other than "one side has a single
 * matrix" or "both sides have the same batch".
 */
export function planMatmul(a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean): MatmulPlan | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return undefined; // the stock kernel reports the shape error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const batch = tf.util.sizeFromShape(outer);
  if (batch === 0 || m === 0 || n === 0 || k === 0) return undefined;
  // With equal products, a side whose batch equals the output's has exactly the output's batch
  // dimensions, so flat batch index i is the same matrix on that side and in the output.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  return {
    outShape: [...outer, m, n],
    batch,
    m,
    n,
    k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
  };
}

export interface Epilogue {
  bias?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

/** Whether the native kernel can fuse this bias and activation (a scalar or per-column bias). */
export function epilogueSupported(plan: MatmulPlan, { bias, activation }: Epilogue): boolean {
  if (activation !== undefined && ACTIVATIONS[activation] === undefined) return false;
  if (bias === undefined) return true;
  if (bias.dtype !== 'float32') return false;
  const size = tf.util.sizeFromShape(bias.shape);
  if (size === 1) return true;
  // [n], [1, n], [1, 1, n] ...: the same n values added to every row.
  return size === plan.n && bias.shape[bias.shape.length - 1] === plan.n;
}

/** Runs a planned product on the addon; the output is allocated first, then every view taken. */
export function runNativeMatmul(
  addon: NativeAddon,
  backendName: string,
  memory: BackendMemory,
  plan: MatmulPlan,
  a: TensorInfo,
  b: TensorInfo,
  transA: boolean,
  transB: boolean,
  epilogue: Epilogue = {},
): TensorInfo {
  const out = memory.allocate(plan.outShape, 'float32');
  const la = memory.locate(a);
  const lb = memory.locate(b);
  const lc = memory.locate(out);
  const lbias = epilogue.bias === undefined ? undefined : memory.locate(epilogue.bias);
  const biasLen = epilogue.bias === undefined ? 0 : tf.util.sizeFromShape(epilogue.bias.shape);
  // A stack times one shared matrix runs as one tall product (see native/src/matmul.cc).
  useThreadsFor(addon, backendName, plan.strideB === 0 ? plan.batch * plan.m : plan.m, plan.n, plan.k);
  addon.matmul(
    la.buffer,
    la.byteOffset,
    lb.buffer,
    lb.byteOffset,
    lc.buffer,
    lc.byteOffset,
    plan.batch,
    plan.m,
    plan.n,
    plan.k,
    transA,
    transB,
    plan.strideA,
    plan.strideB,
    lbias?.buffer ?? null,
    lbias?.byteOffset ?? 0,
    biasLen,
    ACTIVATIONS[epilogue.activation ?? 'linear']!,
    epilogue.leakyreluAlpha ?? 0,
  );
  return out;
}
