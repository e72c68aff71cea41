// The one tfjs instance every package uses. Plugins import `tf` from @kava/core rather than
// from @tensorflow/tfjs so that kernels, backends and gradients are registered exactly once.
import * as tf from '@tensorflow/tfjs';
export { tf };
export type Tensor = tf.Tensor;
