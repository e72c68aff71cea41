import { tf } from '../tf.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { epilogueSupported, planMatmul, runNativeMatmul } from './native-matmul.js';
import { backendMemory, NATIVE_BACKENDS, type TensorInfo } from './native-memory.js';
import { segmentSum } from './native-segment-sum.js';
import { gather } from './native-gather.js';
import { CPU_BINARY_KERNELS, cpuBinaryKernel } from './cpu-binary.js';
import { threadPolicy } from './blas-threads.js';

export { loadNativeAddon, type NativeAddon, type NativeAddonStatus } from './native-addon.js';
export { planMatmul, type MatmulPlan } from './native-matmul.js';

type KernelConfig = Parameters<typeof tf.registerKernel>[0];
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
type KernelResult = ReturnType<KernelConfig['kernelFunc']>;
/** A fast kernel: its result, or undefined to hand the call to the stock kernel. */
type FastKernel = (args: KernelArgs, addon: NativeAddon | null, backendName: string) => TensorInfo | undefined;

/**
 * The command that builds the addon where @kava/core is installed: approved, so npm 11's
 * allowScripts policy lets its install script run (strict-allow-scripts refuses unapproved
 * ones), then run now. scripts/build-native.mjs prints the same line.
 */
export const NATIVE_ENABLE_HINT =
  'a C++ toolchain (apt-get install g++ make python3), then npm install-scripts approve @kava/core && npm rebuild @kava/core';

/** Fast kernels switched off (all of them: '*'). */
const disabled = new Set<string>();
/** Kernel names replaced per backend, for the backend line and tests. */
export const nativeKernels: Record<string, string[]> = {};

/**
 * Switches fast kernels on or off at run time; while off they stay registered and hand every
 * call to the stock kernel, so the benchmark and tests compare both in one process. Without
 * `kernels` it switches all of them (on clears every earlier switch), with it only those named.
 */
export function setNativeKernelsEnabled(on: boolean, kernels?: string[]): void {
  if (kernels === undefined) {
    disabled.clear();
    if (!on) disabled.add('*');
    return;
  }
  for (const k of kernels) {
    if (on) disabled.delete(k);
    else disabled.add(k);
  }
}
/** Whether the fast kernel for `kernelName` (any, when omitted) is on. */
export function nativeKernelsEnabled(kernelName?: string): boolean {
  if (disabled.has('*')) return false;
  return kernelName === undefined ? disabled.size === 0 : !disabled.has(kernelName);
}

const matmulKernel: FastKernel = ({ inputs, attrs, backend }, addon, backendName) => {
  if (addon === null) return undefined;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const plan = planMatmul(a, b, transposeA, transposeB);
  const memory = backendMemory(backendName, backend);
  if (plan === undefined || memory === undefined) return undefined;
  return runNativeMatmul(addon, backendName, memory, plan, a, b, transposeA, transposeB);
};

const fusedMatmulKernel: FastKernel = ({ inputs, attrs, backend }, addon, backendName) => {
  if (addon === null) return undefined;
  const { a, b, bias, preluActivationWeights } = inputs as {
    a: TensorInfo;
    b: TensorInfo;
    bias?: TensorInfo;
    preluActivationWeights?: TensorInfo;
  };
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
    activation: string;
    leakyreluAlpha?: number;
  };
  if (preluActivationWeights != null) return undefined;
  const plan = planMatmul(a, b, transposeA, transposeB);
  const memory = backendMemory(backendName, backend);
  const epilogue = { bias: bias ?? undefined, activation, leakyreluAlpha };
  if (plan === undefined || memory === undefined || !epilogueSupported(plan, epilogue)) return undefined;
  return runNativeMatmul(addon, backendName, memory, plan, a, b, transposeA, transposeB, epilogue);
};

const segmentSumKernel: FastKernel = ({ inputs, attrs, backend }, _addon, backendName) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const memory = backendMemory(backendName, backend);
  if (memory === undefined) return undefined;
  return segmentSum(memory, x, segmentIds, (attrs as unknown as { numSegments: number }).numSegments);
};

const gatherKernel: FastKernel = ({ inputs, attrs, backend }, _addon, backendName) => {
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = attrs as unknown as { axis: number; batchDims?: number };
  const memory = backendMemory(backendName, backend);
  return memory === undefined ? undefined : gather(memory, x, indices, axis, batchDims);
};

/** Exp on the addon's vectorised exp (wasm's calls libm per element; the vocabulary softmax of
 * the cross-entropy runs three of them over [tokens, vocab] per step). */
const expKernel: FastKernel = ({ inputs, backend }, addon, backendName) => {
  const { x } = inputs as { x: TensorInfo };
  const memory = backendMemory(backendName, backend);
  const size = tf.util.sizeFromShape(x.shape);
  if (addon === null || memory === undefined || x.dtype !== 'float32' || size === 0) return undefined;
  const out = memory.allocate(x.shape, 'float32');
  const src = memory.locate(x);
  const dst = memory.locate(out);
  addon.exp(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, size);
  return out;
};

/**
 * Sum over a contiguous block of axes (float32), without the transpose the wasm Sum does first
 * whenever the axes are not the innermost ones: gradients of broadcast ops (norm weights, biases,
 * the batch of a shared operand) sum the leading axes of [tokens, hidden] tensors, ~240 calls per
 * step. Scattered axes, other dtypes and empty inputs go to the stock kernel.
 */
const sumKernel: FastKernel = ({ inputs, attrs, backend }, addon, backendName) => {
  const { x } = inputs as { x: TensorInfo };
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const memory = backendMemory(backendName, backend);
  const size = tf.util.sizeFromShape(x.shape);
  if (addon === null || memory === undefined || x.dtype !== 'float32' || size === 0) return undefined;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
  if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1]! + 1)) return undefined;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  const extent = (from: number, to: number) => x.shape.slice(from, to).reduce((p, d) => p * d, 1);
  const outShape = keepDims
    ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
    : x.shape.filter((_, i) => i < first || i > last);
  const out = memory.allocate(outShape, 'float32');
  const src = memory.locate(x);
  const dst = memory.locate(out);
  addon.sumAxes(
    src.buffer,
    src.byteOffset,
    dst.buffer,
    dst.byteOffset,
    extent(0, first),
    extent(first, last + 1),
    extent(last + 1, x.shape.length),
  );
  return out;
};

/**
 * Identity without a copy on wasm: the output shares the input's heap memory (refcounted, as the
 * wasm Reshape and the cpu Identity kernels already do). The engine clones every tensor a
 * gradient saves, so the stock copying kernel ran ~250 times per training step.
 */
const identityKernel: FastKernel = ({ inputs, backend }, _addon, backendName) => {
  const { x } = inputs as { x: TensorInfo };
  if (backendName !== 'wasm' || x.dtype === 'string') return undefined;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

/** Replaces `kernelName` on `backendName` by `fast`, which hands what it cannot do to the previous kernel. */
function replaceKernel(kernelName: string, backendName: string, fast: FastKernel, addon: NativeAddon | null): void {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock === undefined) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    // The stock kernel's setup (e.g. wasm's cwrap of its C function) must still run, since the
    // fallback calls it.
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: (args: KernelArgs): KernelResult =>
      ((nativeKernelsEnabled(kernelName) ? fast(args, addon, backendName) : undefined) ??
        stock.kernelFunc(args)) as KernelResult,
  });
  (nativeKernels[backendName] ??= []).push(kernelName);
}

let registered = false;
/** What the backend line says about the kernels; empty until registerNativeKernels() ran. */
let kernelNotes: (backend: string) => string = () => '';

/** The note on the fast kernels that the backend line adds for tfjs backend `backend` ('' when none). */
export function nativeKernelNotes(backend: string): string {
  return kernelNotes(backend);
}

/**
 * Registers the fast kernels on the wasm and cpu backends: native sgemm for BatchMatMul and
 * _FusedMatMul, and a vectorised Exp, when the addon (@kava/core's native/) is built; always a scatter-add UnsortedSegmentSum and a
 * slice-copy GatherV2 (the embedding gradient and lookup), on
 * wasm a copy-free Identity, and on cpu allocation-free broadcasting Add/Sub/Multiply/RealDiv.
 * Call after the wasm backend's module is imported and registerMissingWasmKernels() ran (the
 * bridged UnsortedSegmentSum becomes the fallback). Idempotent. Adds a note to the backend line.
 */
export function registerNativeKernels(): void {
  if (registered) return;
  registered = true;
  const { addon, detail } = loadNativeAddon();
  for (const backendName of NATIVE_BACKENDS) {
    if (addon !== null) {
      replaceKernel('BatchMatMul', backendName, matmulKernel, addon);
      replaceKernel('_FusedMatMul', backendName, fusedMatmulKernel, addon);
      replaceKernel('Exp', backendName, expKernel, addon);
      replaceKernel('Sum', backendName, sumKernel, addon);
    }
    replaceKernel('UnsortedSegmentSum', backendName, segmentSumKernel, addon);
    replaceKernel('GatherV2', backendName, gatherKernel, addon);
  }
  replaceKernel('Identity', 'wasm', identityKernel, addon);
  for (const name of CPU_BINARY_KERNELS) {
    const fast = cpuBinaryKernel(name);
    replaceKernel(name, 'cpu', (args) => fast(args as never), addon);
  }
  kernelNotes = (backend) => describeKernels(backend, addon, detail);
}

function describeKernels(backend: string, addon: NativeAddon | null, detail: string): string {
  if (!NATIVE_BACKENDS.includes(backend)) return '';
  if (disabled.has('*')) return 'stock kernels (native kernels switched off)';
  if (addon === null) return `stock matmul kernels (${detail}; enable the fast path: ${NATIVE_ENABLE_HINT})`;
  const { blas } = addon;
  // "OpenBLAS 0.3.21 (Cooperlake)" or "KaVa portable GEMM (avx2)"
  const version = /OpenBLAS (\S+)/.exec(blas.config)?.[1];
  const policy = threadPolicy();
  const threads =
    policy.fixed !== null
      ? `${policy.fixed} thread${policy.fixed === 1 ? '' : 's'}`
      : `1 thread${policy.cores > 1 ? `, up to ${policy.cores} on large wasm products while cores are idle` : ''}`;
  const library = version === undefined ? blas.library : `${blas.library} ${version}`;
  return `native sgemm: ${library} (${blas.core}), ${threads}${blas.note ? `; ${blas.note}` : ''}`;
}
