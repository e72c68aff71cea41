import { tf } from '../tf.js';
import { defineNativeKernel } from './fused-op.js';
import type { TensorInfo } from './native-memory.js';

// One AdamW update of a parameter tensor as one native kernel (native/src/adamw.cc) on the wasm
// and cpu backends: the composite in train/adamw.ts is ~15 kernel calls per parameter tensor per
// step (~570 on the tiny model). Same operations in the same order, in float32.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_ADAMW = 'AdamW';
const KERNEL = 'KavaAdamW';

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

const kernel = defineNativeKernel<AdamWFactors>(KERNEL, FUSED_ADAMW, (addon, memory, inputs, attrs) => {
  const { param, grad, m, v } = inputs as Record<'param' | 'grad' | 'm' | 'v', TensorInfo>;
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
});

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
    [param, grad, m, v].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, param.shape)) &&
    param.size > 0 &&
    kernel.available();
  if (!runs) return undefined;
  return kernel.run({ param, grad, m, v }, factors) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
