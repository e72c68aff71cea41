// The one tfjs instance every package uses. Plugins import `tf` from @kava/core rather than
// from @tensorflow/tfjs so that kernels, backends and gradients are registered exactly once.
import * as tf from '@tensorflow/tfjs';

// PROD silences tfjs's "install tfjs-node" banner on stdout-adjacent stderr; we print our own
// backend line that says what runs and how to get a faster path.
tf.env().set('PROD', true);

export { tf };
export type Tensor = tf.Tensor;
