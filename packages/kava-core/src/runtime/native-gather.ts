import { tf } from '../tf.js';
import { type BackendMemory, type TensorInfo } from './native-memory.js';

/**
 * GatherV2 (every embedding lookup) as contiguous slice copies. The stock wasm and cpu kernels
 * index element by element (~10 ms for a [1024, 256] table and 680 ids on wasm; this takes
 * ~0.1 ms). Returns undefined for what it does not handle (dtypes other than float32, int32,
 * bool; an index out of range, which the stock kernel reports), so the caller falls back.
 */
export function gather(
  memory: BackendMemory,
  x: TensorInfo,
  indices: TensorInfo,
  axis: number,
  batchDims: number | undefined,
): TensorInfo | undefined {
  if (indices.dtype !== 'int32' || !['float32', 'int32', 'bool'].includes(x.dtype) || x.shape.length === 0)
    return undefined;
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as unknown as tf.Tensor,
    indices as unknown as tf.Tensor,
    parsedAxis,
    batchDims ?? 0,
  );
  const { batchSize, outerSize, dimSize, sliceSize, outputShape } = info;
  const indicesSize = tf.util.sizeFromShape(indices.shape);
  const numIdx = batchSize === 0 ? 0 : indicesSize / batchSize;
  const idx = memory.view(indices);
  for (let i = 0; i < idx.length; i++) if (idx[i]! < 0 || idx[i]! >= dimSize) return undefined;
  const out = memory.allocate(outputShape, x.dtype);
  const xs = memory.view(x);
  const idxs = memory.view(indices); // taken again: allocating may have moved the heap
  const os = memory.view(out);
  let dst = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize * sliceSize;
      for (let i = 0; i < numIdx; i++) {
        const src = base + idxs[b * numIdx + i]! * sliceSize;
        os.set(xs.subarray(src, src + sliceSize), dst);
        dst += sliceSize;
      }
    }
  }
  return out;
}
