import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { backendMemory, NATIVE_BACKENDS, type TensorInfo } from './native-memory.js';
import { useThreadsFor } from './blas-threads.js';

/**
 * A frozen weight matrix held in native memory, outside the tfjs backend: the base weights of a
 * LoRA run at real size. The wasm backend's whole heap is one 4 GiB memory, and Llama-3.2-1B's
 * weights alone are 4.9 GB in float32; kept here (plain ArrayBuffers, bounded only by the
 * machine's memory) they leave the heap to the adapters, their optimiser state and the
 * activations. Products with them run on the native sgemm, reading the matrix in place.
 *
 * The matrix is stored as Hugging Face stores a linear weight, [rows, cols] = [out, in], so a
 * checkpoint tensor is used as read, and an embedding table [vocab, hidden] is one too: its rows
 * are the lookup and `x · tableᵀ` is the tied output head.
 */
export class FrozenMatrix {
  private static nextId = 1;
  /** Live matrices by id: the kernels receive the id as an attribute. */
  static readonly live = new Map<number, FrozenMatrix>();
  readonly id = FrozenMatrix.nextId++;
  private values: Float32Array | null;

  constructor(
    readonly rows: number,
    readonly cols: number,
    values: Float32Array,
  ) {
    if (values.length !== rows * cols)
      throw new KavaError(`FrozenMatrix: ${values.length} values for a [${rows}, ${cols}] matrix`);
    this.values = values;
    FrozenMatrix.live.set(this.id, this);
  }

  /** The values, row-major [rows, cols] (read-only by contract: a frozen weight never changes). */
  get data(): Float32Array {
    if (this.values === null) throw new KavaError('FrozenMatrix: used after dispose()');
    return this.values;
  }

  /** The first `rows` rows, sharing this matrix's memory (an embedding table cut at a vocabulary size). */
  topRows(rows: number): FrozenMatrix {
    return new FrozenMatrix(rows, this.cols, this.data.subarray(0, rows * this.cols));
  }

  /** Rows [from, to) as a new tfjs tensor (a copy on the backend). */
  rowsTensor(from: number, to: number): tf.Tensor2D {
    return tf.tensor2d(this.data.subarray(from * this.cols, to * this.cols), [to - from, this.cols]);
  }

  dispose(): void {
    this.values = null;
    FrozenMatrix.live.delete(this.id);
  }
}

/** What tfjs passes a kernel function. */
interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
  backend: unknown;
}

const MATMUL = 'KavaFrozenMatMul';
const GATHER = 'KavaFrozenGather';

/** Why native base weights cannot be used here, or null when they can. */
export function frozenMatrixUnavailable(): string | null {
  const backend = tf.getBackend();
  if (!NATIVE_BACKENDS.includes(backend))
    return `the "${backend}" backend keeps its tensors on its own (native weights are for wasm and cpu)`;
  const { addon, detail } = loadNativeAddon();
  return addon === null ? `the native kernels are not available (${detail})` : null;
}

function matrix(attrs: unknown): FrozenMatrix {
  const m = FrozenMatrix.live.get((attrs as { matrix: number }).matrix);
  if (m === undefined) throw new KavaError('frozen matrix product: the matrix was disposed');
  return m;
}

/**
 * y = x · Mᵀ ([N, cols] -> [N, rows]), or with `transposed` y = x · M ([N, rows] -> [N, cols]),
 * the latter being the former's input gradient.
 */
function matmulKernel(addon: NativeAddon, backendName: string) {
  return ({ inputs, attrs, backend }: KernelArgs): TensorInfo => {
    const x = inputs.x as TensorInfo;
    const m = matrix(attrs);
    const transposed = (attrs as { transposed: boolean }).transposed;
    const [n, k] = x.shape as [number, number];
    const out = transposed ? m.cols : m.rows;
    if (x.shape.length !== 2 || k !== (transposed ? m.rows : m.cols) || x.dtype !== 'float32') {
      throw new KavaError(
        `frozen matrix product: x must be float32 [N, ${transposed ? m.rows : m.cols}], got ${x.dtype} [${x.shape}]`,
      );
    }
    const memory = backendMemory(backendName, backend)!;
    const y = memory.allocate([n, out], 'float32');
    if (n === 0) return y;
    const lx = memory.locate(x);
    const ly = memory.locate(y);
    const w = m.data;
    useThreadsFor(addon, backendName, n, out, k);
    addon.matmul(
      lx.buffer,
      lx.byteOffset,
      w.buffer,
      w.byteOffset,
      ly.buffer,
      ly.byteOffset,
      1,
      n,
      out,
      k,
      false,
      !transposed,
      0,
      0,
      null,
      0,
      0,
      0,
      0,
    );
    return y;
  };
}

/** Rows of M at int32 `indices` [n] -> [n, cols]. */
function gatherKernel(backendName: string) {
  return ({ inputs, attrs, backend }: KernelArgs): TensorInfo => {
    const indices = inputs.indices as TensorInfo;
    const m = matrix(attrs);
    const memory = backendMemory(backendName, backend)!;
    const n = tf.util.sizeFromShape(indices.shape);
    const y = memory.allocate([n, m.cols], 'float32');
    const ids = memory.view(indices) as Int32Array;
    const out = memory.view(y) as Float32Array;
    const w = m.data;
    for (let i = 0; i < n; i++) {
      const row = ids[i]!;
      if (!(row >= 0 && row < m.rows))
        throw new KavaError(`embedding lookup: token id ${row} is outside the table's ${m.rows} rows`);
      out.set(w.subarray(row * m.cols, (row + 1) * m.cols), i * m.cols);
    }
    return y;
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  const { addon } = loadNativeAddon();
  if (addon === null) throw new KavaError(`frozen matrices need the native kernels: ${frozenMatrixUnavailable()}`);
  for (const backendName of NATIVE_BACKENDS) {
    tf.registerKernel({ kernelName: MATMUL, backendName, kernelFunc: matmulKernel(addon, backendName) as never });
    tf.registerKernel({ kernelName: GATHER, backendName, kernelFunc: gatherKernel(backendName) as never });
  }
  // The matrix is frozen: only x has a gradient, dx = dy · M (the transposed product).
  tf.registerGradient({
    kernelName: MATMUL,
    gradFunc: (dy, _saved, attrs) => ({
      x: () => frozenProduct(dy as tf.Tensor2D, matrix(attrs), !(attrs as { transposed: boolean }).transposed),
    }),
  });
  registered = true;
}

function frozenProduct(x: tf.Tensor2D, m: FrozenMatrix, transposed: boolean): tf.Tensor2D {
  register();
  return tf.engine().runKernel(MATMUL, { x }, { matrix: m.id, transposed } as never) as tf.Tensor2D;
}

/** x [N, cols] · Mᵀ -> [N, rows]: a linear layer whose weight is M (HF layout [out, in]); differentiable in x. */
export function frozenMatMul(x: tf.Tensor, m: FrozenMatrix): tf.Tensor2D {
  return frozenProduct(x as tf.Tensor2D, m, false);
}

/** The rows of M at `ids` (any shape, int32) -> [...ids.shape, cols]: an embedding lookup in a frozen table. */
export function frozenRows(m: FrozenMatrix, ids: tf.Tensor): tf.Tensor {
  register();
  return tf.tidy(() => {
    const flat = tf.reshape(ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), [-1]);
    const rows = tf.engine().runKernel(GATHER, { indices: flat }, { matrix: m.id } as never) as tf.Tensor;
    return tf.reshape(rows, [...ids.shape, m.cols]);
  });
}
