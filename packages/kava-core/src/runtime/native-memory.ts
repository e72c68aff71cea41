import { tf } from '../tf.js';

export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

/** Where a tensor's values live: a buffer and a byte offset into it. */
export interface Located {
  buffer: ArrayBufferLike;
  byteOffset: number;
}

/**
 * Zero-copy access to a backend's tensor memory, for kernels that write their output in place.
 * `allocate` must come before `locate`: on wasm a new output can grow the heap, which detaches
 * every view and buffer taken before it.
 */
export interface BackendMemory {
  allocate(shape: number[], dtype: tf.DataType): TensorInfo;
  locate(info: TensorInfo): Located;
  /** A typed-array view of the tensor's values (taken after all allocations). */
  view(info: TensorInfo): tf.TypedArray;
}

/** The wasm backend's private surface (tfjs is pinned exactly because of it). */
interface WasmBackendPrivate {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): tf.TypedArray;
}

/** The cpu backend's private surface. */
interface CpuBackendPrivate {
  data: { get(dataId: object): { values?: tf.backend_util.BackendValues } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
}

function wasmMemory(backend: WasmBackendPrivate): BackendMemory {
  return {
    allocate: (shape, dtype) => backend.makeOutput(shape, dtype),
    locate(info) {
      const data = backend.dataIdMap.get(info.dataId);
      if (data === undefined) throw new Error('wasm tensor has no data on the heap');
      return { buffer: backend.wasm.HEAPU8.buffer, byteOffset: data.memoryOffset };
    },
    view: (info) => backend.typedArrayFromHeap(info),
  };
}

function cpuMemory(backend: CpuBackendPrivate): BackendMemory {
  const values = (info: TensorInfo): tf.TypedArray => {
    const v = backend.data.get(info.dataId)?.values;
    if (!ArrayBuffer.isView(v)) throw new Error('cpu tensor has no typed-array values');
    return v as tf.TypedArray;
  };
  return {
    allocate: (shape, dtype) =>
      backend.makeTensorInfo(
        shape,
        dtype,
        tf.util.getTypedArrayFromDType(dtype as 'float32', tf.util.sizeFromShape(shape)),
      ),
    locate(info) {
      let v = values(info);
      // The cpu Cast from int32 or bool to float32 shares the input's Int32Array / Uint8Array
      // instead of copying. Native code reads raw bytes, so it gets float32 ones: a copy, which
      // is safe because kernels only read their inputs (outputs are allocated float32).
      if (info.dtype === 'float32' && !(v instanceof Float32Array)) v = Float32Array.from(v as ArrayLike<number>);
      return { buffer: v.buffer, byteOffset: v.byteOffset };
    },
    view: values,
  };
}

/** The backends whose tensor memory native kernels can reach (backendMemory serves them). */
export const NATIVE_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/** Memory access for the "wasm" and "cpu" backends; undefined for any other. */
export function backendMemory(backendName: string, backend: unknown): BackendMemory | undefined {
  if (backendName === 'wasm') return wasmMemory(backend as WasmBackendPrivate);
  if (backendName === 'cpu') return cpuMemory(backend as CpuBackendPrivate);
  return undefined;
}
