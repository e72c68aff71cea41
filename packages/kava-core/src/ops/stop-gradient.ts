import { tf } from '../tf.js';

/**
 * Identity whose gradient is zero: tfjs has no tf.stopGradient. Teacher targets inside the CODI
 * and KV losses go through this, so those terms never train the teacher pass.
 */
const identityWithZeroGrad = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

export function stopGradient<T extends tf.Tensor>(x: T): T {
  return identityWithZeroGrad(x) as T;
}
