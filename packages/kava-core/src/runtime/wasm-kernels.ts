import { tf } from '../tf.js';

type KernelConfig = Parameters<typeof tf.registerKernel>[0];
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];
type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

/** The wasm backend's private surface we rely on (tfjs is pinned exactly for this reason). */
interface WasmBackendLike {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): tf.TypedArray;
}
interface CpuBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
  disposeIntermediateTensorInfo(info: TensorInfo): void;
}

/** Kernels bridged from cpu to wasm, for tests and `kava doctor`-style reports. */
export const bridgedKernels: string[] = [];

/**
 * The wasm backend lacks kernels that training needs (UnsortedSegmentSum, the gradient of every
 * embedding lookup; Erf, Log1p, Prod, ...). For each kernel the cpu backend has and wasm does
 * not, register a wasm kernel that copies the inputs to the cpu backend, runs its kernel there
 * and copies the outputs back. Correct for every such op; faster dedicated kernels registered
 * later (native module) replace the bridge for hot spots.
 */
export function registerMissingWasmKernels(): void {
  if (bridgedKernels.length > 0) return;
  const cpuKernels = tf.getKernelsForBackend('cpu');
  for (const cpuKernel of cpuKernels) {
    if (tf.getKernel(cpuKernel.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel({
      kernelName: cpuKernel.kernelName,
      backendName: 'wasm',
      kernelFunc: (args: KernelArgs) => bridgeToCpu(cpuKernel, args),
    });
    bridgedKernels.push(cpuKernel.kernelName);
  }
}

function bridgeToCpu(cpuKernel: KernelConfig, { inputs, attrs, backend }: KernelArgs) {
  const wasm = backend as unknown as WasmBackendLike;
  const cpu = tf.findBackend('cpu') as unknown as CpuBackendLike | null;
  if (cpu === null) throw new Error(`kernel ${cpuKernel.kernelName}: the cpu backend is not registered`);
  const copied: TensorInfo[] = [];
  const cpuInputs: Record<string, TensorInfo> = {};
  for (const [key, input] of Object.entries(inputs)) {
    if (input === undefined || input === null) continue;
    const info = input as TensorInfo;
    const values = (wasm.readSync(info.dataId) as tf.TypedArray).slice();
    const onCpu = cpu.makeTensorInfo(info.shape, info.dtype, values);
    copied.push(onCpu);
    cpuInputs[key] = onCpu;
  }
  try {
    const result = cpuKernel.kernelFunc({ inputs: cpuInputs as never, attrs, backend: cpu as never });
    const outs = (Array.isArray(result) ? result : [result]) as TensorInfo[];
    const wasmOuts = outs.map((out) => {
      const values = cpu.readSync(out.dataId);
      const made = wasm.makeOutput(out.shape, out.dtype);
      if (out.dtype === 'string') throw new Error(`kernel ${cpuKernel.kernelName}: string outputs are not bridged`);
      wasm.typedArrayFromHeap(made).set(values as tf.TypedArray);
      cpu.disposeIntermediateTensorInfo(out);
      return made;
    });
    return (Array.isArray(result) ? wasmOuts : wasmOuts[0]!) as never;
  } finally {
    for (const info of copied) cpu.disposeIntermediateTensorInfo(info);
  }
}
