import { tf } from '../tf.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { backendMemory, type TensorInfo } from './native-memory.js';
import { nativeKernelsEnabled } from './native-kernels.js';

// One AdamW update of a parameter tensor as one native kernel (native/src/adamw.cc) on the wasm
// and cpu backends: the composite in train/adamw.ts is ~15 kernel calls per parameter tensor per
// step (~570 on the tiny model). Same operations in the same order, in float32.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_ADAMW = 'AdamW';
const KERNEL = 'KavaAdamW';
const BACKENDS: readonly string[] = ['wasm', 'cpu'];

export interface AdamWFactors {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Bias corrections 1 - beta^step. */
  c1: number;
  c2: number;
  /** The parameter's factor before the step: 1 - lr * weightDecay, or 1. */
  decay: number;
}

function kernel(addon: NativeAddon, backendName: string) {
  return ({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: AdamWFactors; backend: object }) => {
    const { param, grad, m, v } = inputs as Record<'param' | 'grad' | 'm' | 'v', TensorInfo>;
    const memory = backendMemory(backendName, backend as never)!;
    const outs = [param, m, v].map((t) => memory.allocate(t.shape, 'float32'));
    const located = [param, grad, m, v, ...outs].flatMap((t) => {
      const at = memory.locate(t);
      return [at.buffer, at.byteOffset];
    });
    const { lr, beta1, beta2, epsilon, c1, c2, decay } = attrs;
    addon.adamw(
      ...located,
      tf.util.sizeFromShape(param.shape),
      lr,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      epsilon,
      c1,
      c2,
      decay,
    );
    return outs;
  };
}

let addonForKernel: NativeAddon | null | undefined;
function register(): NativeAddon | null {
  if (addonForKernel !== undefined) return addonForKernel;
  addonForKernel = loadNativeAddon().addon;
  if (addonForKernel !== null) {
    for (const backendName of BACKENDS)
      tf.registerKernel({ kernelName: KERNEL, backendName, kernelFunc: kernel(addonForKernel, backendName) as never });
  }
  return addonForKernel;
}

/**
 * The updated (param, m, v) of one AdamW step as one kernel, or undefined where it does not run
 * (other backends, no addon, switched off, not float32): the caller then uses the composite.
 */
export function fusedAdamW(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  factors: AdamWFactors,
): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  const runs =
    BACKENDS.includes(tf.getBackend()) &&
    nativeKernelsEnabled(FUSED_ADAMW) &&
    [param, grad, m, v].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, param.shape)) &&
    param.size > 0 &&
    register() !== null;
  if (!runs) return undefined;
  return tf.engine().runKernel(KERNEL, { param, grad, m, v }, factors as never) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
