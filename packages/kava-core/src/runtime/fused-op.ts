import { tf } from '../tf.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { backendMemory, type BackendMemory, type TensorInfo } from './native-memory.js';
import { nativeKernelsEnabled } from './native-kernels.js';

// A differentiable op that runs as one native kernel forward and one backward on the wasm and cpu
// backends, where the composite of tfjs ops it replaces costs several kernel calls each way (each
// ~10-40 µs of engine and tape overhead on the tiny models). Used by fused-rms-norm.ts and
// fused-swiglu.ts; callers keep the composite for other backends and check `runs` first.

const BACKENDS: readonly string[] = ['wasm', 'cpu'];

export interface FusedOpSpec<I extends string, A extends object> {
  /** Kernel names are Kava<name> and Kava<name>Grad; setNativeKernelsEnabled switches it by <name>. */
  name: string;
  /** Input names (the kernels' inputs, all saved for the gradient). */
  inputs: readonly I[];
  /** The inputs that have a gradient, in the order `backward` returns them (default: all). */
  differentiable?: readonly I[];
  forward(addon: NativeAddon, memory: BackendMemory, inputs: Record<I, TensorInfo>, attrs: A): TensorInfo;
  /** One gradient per differentiable input, in that order. */
  backward(
    addon: NativeAddon,
    memory: BackendMemory,
    dy: TensorInfo,
    inputs: Record<I, TensorInfo>,
    attrs: A,
  ): TensorInfo[];
}

export interface FusedOp<I extends string, A extends object> {
  /** Whether the fused kernels run here: wasm or cpu, the addon built, the op not switched off. */
  available(): boolean;
  apply(inputs: Record<I, tf.Tensor>, attrs: A): tf.Tensor;
}

export function defineFusedOp<I extends string, A extends object>(spec: FusedOpSpec<I, A>): FusedOp<I, A> {
  const forwardName = `Kava${spec.name}`;
  const backwardName = `Kava${spec.name}Grad`;
  let addon: NativeAddon | null | undefined;
  const register = (): NativeAddon | null => {
    if (addon !== undefined) return addon;
    addon = loadNativeAddon().addon;
    if (addon === null) return null;
    const native = addon;
    for (const backendName of BACKENDS) {
      const memoryOf = (backend: object) => backendMemory(backendName, backend as never)!;
      tf.registerKernel({
        kernelName: forwardName,
        backendName,
        kernelFunc: (({ inputs, attrs, backend }: { inputs: Record<I, TensorInfo>; attrs: A; backend: object }) =>
          spec.forward(native, memoryOf(backend), inputs, attrs)) as never,
      });
      tf.registerKernel({
        kernelName: backwardName,
        backendName,
        kernelFunc: (({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: A; backend: object }) =>
          spec.backward(native, memoryOf(backend), inputs.dy!, inputs as Record<I, TensorInfo>, attrs)) as never,
      });
    }
    tf.registerGradient({
      kernelName: forwardName,
      inputsToSave: [...spec.inputs],
      gradFunc: (dy, saved, attrs) => {
        const inputs = Object.fromEntries(spec.inputs.map((n, i) => [n, saved[i]!]));
        // One backward kernel gives every gradient. It runs here, not inside the closures: the
        // engine runs each closure in its own tidy, which would dispose the gradients not returned.
        const grads = tf
          .engine()
          .runKernel(backwardName, { dy: dy as tf.Tensor, ...inputs }, attrs as never) as tf.Tensor[];
        const differentiable = spec.differentiable ?? spec.inputs;
        return Object.fromEntries(differentiable.map((n, i) => [n, () => grads[i]!]));
      },
    });
    return addon;
  };
  return {
    available: () => BACKENDS.includes(tf.getBackend()) && nativeKernelsEnabled(spec.name) && register() !== null,
    apply: (inputs, attrs) => tf.engine().runKernel(forwardName, inputs as never, attrs as never) as tf.Tensor,
  };
}
