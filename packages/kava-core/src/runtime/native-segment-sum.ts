import { type BackendMemory, type TensorInfo } from './native-memory.js';

/**
 * UnsortedSegmentSum (the gradient of gather, i.e. of every embedding table) as one scatter-add
 * pass: out[ids[i]] += x[i]. Ids outside [0, numSegments) are dropped, as in the stock kernels.
 * The stock cpu kernel builds a mask and a full product per segment (seconds for a vocabulary),
 * and wasm has none. Returns undefined for what it does not handle (ids that are not one
 * int32 id per row of x), so the caller falls back to the stock kernel.
 */
export function segmentSum(
  memory: BackendMemory,
  x: TensorInfo,
  ids: TensorInfo,
  numSegments: number,
): TensorInfo | undefined {
  if (ids.dtype !== 'int32' || ids.shape.length !== 1 || x.shape.length < 1 || ids.shape[0] !== x.shape[0])
    return undefined;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return undefined;
  if (!Number.isInteger(numSegments) || numSegments < 0) return undefined;
  const out = memory.allocate([numSegments, ...x.shape.slice(1)], x.dtype);
  const xs = memory.view(x);
  const is = memory.view(ids);
  const os = memory.view(out);
  os.fill(0);
  const rows = x.shape[0]!;
  const width = rows === 0 ? 0 : xs.length / rows;
  for (let r = 0; r < rows; r++) {
    const id = is[r]!;
    if (id < 0 || id >= numSegments) continue;
    const src = r * width;
    const dst = id * width;
    for (let j = 0; j < width; j++) os[dst + j] = os[dst + j]! + xs[src + j]!;
  }
  return out;
}
