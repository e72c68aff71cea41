import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled addon from @kava/core's native/ (see native/src/addon.cc for the argument contract). */
export interface NativeAddon {
  matmul(
    aBuf: ArrayBufferLike,
    aOff: number,
    bBuf: ArrayBufferLike,
    bOff: number,
    cBuf: ArrayBufferLike,
    cOff: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
    biasBuf: ArrayBufferLike | null,
    biasOff: number,
    biasLen: number,
    activation: number,
    alpha: number,
  ): void;
  exp(inBuf: ArrayBufferLike, inOff: number, outBuf: ArrayBufferLike, outOff: number, n: number): void;
  /** x as [outer, reduced, inner] → out [outer, inner], summing the middle axis. */
  sumAxes(
    inBuf: ArrayBufferLike,
    inOff: number,
    outBuf: ArrayBufferLike,
    outOff: number,
    outer: number,
    reduced: number,
    inner: number,
  ): void;
  /** y = x / sqrt(mean(x²) + eps) · w over rows of length d. */
  rmsNorm(
    xBuf: ArrayBufferLike,
    xOff: number,
    wBuf: ArrayBufferLike,
    wOff: number,
    yBuf: ArrayBufferLike,
    yOff: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  /** dx and dw of rmsNorm for the upstream gradient dy. */
  rmsNormGrad(
    dyBuf: ArrayBufferLike,
    dyOff: number,
    xBuf: ArrayBufferLike,
    xOff: number,
    wBuf: ArrayBufferLike,
    wOff: number,
    dxBuf: ArrayBufferLike,
    dxOff: number,
    dwBuf: ArrayBufferLike,
    dwOff: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  /** y = gate · sigmoid(gate) · up, n elements. */
  swiglu(
    gateBuf: ArrayBufferLike,
    gateOff: number,
    upBuf: ArrayBufferLike,
    upOff: number,
    yBuf: ArrayBufferLike,
    yOff: number,
    n: number,
  ): void;
  /** dgate and dup of swiglu for the upstream gradient dy. */
  swigluGrad(
    dyBuf: ArrayBufferLike,
    dyOff: number,
    gateBuf: ArrayBufferLike,
    gateOff: number,
    upBuf: ArrayBufferLike,
    upOff: number,
    dgBuf: ArrayBufferLike,
    dgOff: number,
    duBuf: ArrayBufferLike,
    duOff: number,
    n: number,
  ): void;
  /**
   * Rotary embedding of x [batch, heads, seq, d] with cos/sin [batch, seq, d] into y; with
   * `backward`, x is the upstream gradient and y receives the gradient in x.
   */
  rope(
    xBuf: ArrayBufferLike,
    xOff: number,
    cosBuf: ArrayBufferLike,
    cosOff: number,
    sinBuf: ArrayBufferLike,
    sinOff: number,
    yBuf: ArrayBufferLike,
    yOff: number,
    batch: number,
    heads: number,
    seq: number,
    d: number,
    backward: boolean,
  ): void;
  /**
   * One AdamW update of n values: (param, grad, m, v) → (param', m', v'), buffers and offsets in
   * that order, then lr, beta1, beta2, epsilon, the bias corrections c1 and c2, and the decay factor.
   */
  adamw(...args: Array<ArrayBufferLike | number>): void;
  /**
   * softmax(x · scale + bias) over the last axis of x [batch, heads, rows, cols], bias [batch, rows,
   * cols] shared by the heads, into out; with dy (not null), the gradient in x instead.
   */
  maskedSoftmax(
    xBuf: ArrayBufferLike,
    xOff: number,
    biasBuf: ArrayBufferLike,
    biasOff: number,
    outBuf: ArrayBufferLike,
    outOff: number,
    batch: number,
    heads: number,
    rows: number,
    cols: number,
    scale: number,
    dyBuf: ArrayBufferLike | null,
    dyOff: number,
  ): void;
  /** BLAS threads for the next products; returns the count in effect. */
  setThreads(n: number): number;
  /**
   * Switches the BLAS behind matmul: 'openblas' (when built with it) or 'portable', with the
   * portable GEMM's kernel set ('' = the best this CPU runs). Throws when unavailable.
   */
  selectBlas(library: 'openblas' | 'portable', isa: '' | 'avx512' | 'avx2' | 'generic'): NativeAddon['blas'];
  /** The BLAS in use; `note` says why KAVA_BLAS / KAVA_GEMM_ISA were ignored, when they were. */
  blas: { library: string; config: string; core: string; threads: number; note?: string };
}

export interface NativeAddonStatus {
  addon: NativeAddon | null;
  /** Where it was loaded from, or why it was not. */
  detail: string;
}

/** Every environment variable that changes which native kernels load or how they run. */
export const NATIVE_ENVIRONMENT = [
  'KAVA_NATIVE',
  'KAVA_NATIVE_ADDON',
  'KAVA_BLAS',
  'KAVA_GEMM_ISA',
  'KAVA_BLAS_THREADS',
  'OPENBLAS_NUM_THREADS',
  'OMP_NUM_THREADS',
  'OPENBLAS_CORETYPE',
  'OPENBLAS_L2_SIZE',
] as const;

const ADDON = join('native', 'build', 'Release', 'kava_native.node');
let status: NativeAddonStatus | undefined;

/**
 * The addon's path: KAVA_NATIVE_ADDON, else native/build/Release in the nearest folder up that
 * has it: the @kava/core package folder, from both dist/runtime and src/runtime.
 */
function findAddon(): string | undefined {
  const explicit = process.env.KAVA_NATIVE_ADDON;
  if (explicit) return explicit;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Loads the native addon once. Never throws: a missing or broken addon is reported in `detail`
 * and the stock tfjs kernels are used. KAVA_NATIVE=off skips it (to measure or debug the stock path).
 */
export function loadNativeAddon(): NativeAddonStatus {
  if (status !== undefined) return status;
  if (process.env.KAVA_NATIVE === 'off') return (status = { addon: null, detail: 'KAVA_NATIVE=off' });
  const path = findAddon();
  if (path === undefined) return (status = { addon: null, detail: 'native addon not built' });
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return (status = { addon, detail: path });
  } catch (err) {
    return (status = {
      addon: null,
      detail: `native addon at ${path} failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    });
  }
}
