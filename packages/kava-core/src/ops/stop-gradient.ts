import { tf } from '../tf.js';

/**
 * Identity whose gradient is zero: tfjs has no tf.stopGradient. Teacher targets inside the CODI
 * and KV losses go through this, so those terms never train the teacher pass.
 */
const identityWithZeroGrad = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/** `x` as a value whose gradient is zero: a target the loss pulls towards but never moves. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return identityWithZeroGrad(x) as T;
}

/**
 * A copy of `x` with no history on the gradient tape (its values go through a buffer). Unlike
 * stopGradient, ops that read it are not on the tape's path at all, which non-differentiable
 * consumers need: the evictor's top-k indices feed tf.gather, whose index gradient tfjs rejects
 * when the indices descend from a variable.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}
