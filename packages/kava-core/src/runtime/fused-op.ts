import { tf } from '../tf.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { backendMemory, NATIVE_BACKENDS, type BackendMemory, type TensorInfo } from './native-memory.js';
import { nativeKernelsEnabled } from './native-kernels.js';

// Native kernels of our own on the wasm and cpu backends, where the composite of tfjs ops they
// replace costs several kernel calls (each ~10-40 µs of engine and tape overhead on the tiny
// models): `defineNativeKernel` for one kernel (the AdamW update), `defineFusedOp` for a
// differentiable op (a forward and a backward kernel and the gradient between them: RMSNorm,
// SwiGLU, RoPE, the attention softmax). Callers keep the composite for other backends and check
// `available()` first.

type KernelBody<A> = (
  addon: NativeAddon,
  memory: BackendMemory,
  inputs: Record<string, TensorInfo>,
  attrs: A,
) => TensorInfo | TensorInfo[];

export interface NativeKernel<A extends object> {
  /** Whether it runs here: wasm or cpu, the addon built, not switched off. Registers it on first use. */
  available(): boolean;
  /** Registers it (once); false without the addon. */
  register(): boolean;
  run(inputs: Record<string, tf.Tensor>, attrs: A): tf.Tensor | tf.Tensor[];
}

/**
 * A kernel named `kernelName` on the wasm and cpu backends, registered on first use when the
 * addon is built (then `onRegister` runs once). setNativeKernelsEnabled switches it by `switchName`.
 */
export function defineNativeKernel<A extends object>(
  kernelName: string,
  switchName: string,
  body: KernelBody<A>,
  onRegister?: () => void,
): NativeKernel<A> {
  let addon: NativeAddon | null | undefined;
  const register = (): boolean => {
    if (addon !== undefined) return addon !== null;
    addon = loadNativeAddon().addon;
    if (addon === null) return false;
    const native = addon;
    for (const backendName of NATIVE_BACKENDS) {
      tf.registerKernel({
        kernelName,
        backendName,
        kernelFunc: (({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: A; backend: object }) =>
          body(native, backendMemory(backendName, backend)!, inputs, attrs)) as never,
      });
    }
    onRegister?.();
    return true;
  };
  return {
    available: () => NATIVE_BACKENDS.includes(tf.getBackend()) && nativeKernelsEnabled(switchName) && register(),
    register,
    run: (inputs, attrs) =>
      tf.engine().runKernel(kernelName, inputs as never, attrs as never) as tf.Tensor | tf.Tensor[],
  };
}

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
  const backward = defineNativeKernel<A>(`Kava${spec.name}Grad`, spec.name, (addon, memory, inputs, attrs) =>
    spec.backward(addon, memory, inputs.dy!, inputs as Record<I, TensorInfo>, attrs),
  );
  const differentiable = spec.differentiable ?? spec.inputs;
  const forward = defineNativeKernel<A>(
    `Kava${spec.name}`,
    spec.name,
    (addon, memory, inputs, attrs) => spec.forward(addon, memory, inputs as Record<I, TensorInfo>, attrs),
    () => {
      backward.register();
      tf.registerGradient({
        kernelName: `Kava${spec.name}`,
        inputsToSave: [...spec.inputs],
        gradFunc: (dy, saved, attrs) => {
          const inputs = Object.fromEntries(spec.inputs.map((n, i) => [n, saved[i]!]));
          // One backward kernel gives every gradient. It runs here, not inside the closures: the
          // engine runs each closure in its own tidy, which would dispose the gradients not returned.
          const grads = backward.run({ dy: dy as tf.Tensor, ...inputs }, attrs as A) as tf.Tensor[];
          return Object.fromEntries(differentiable.map((n, i) => [n, () => grads[i]!]));
        },
      });
    },
  );
  return {
    available: forward.available,
    apply: (inputs, attrs) => forward.run(inputs, attrs) as tf.Tensor,
  };
}
