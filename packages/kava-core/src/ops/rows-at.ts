import { tf } from '../tf.js';

/** Row `index[b]` of `x` [B, S, D] for every b → [B, D] (differentiable w.r.t. x). */
export function rowsAt(x: tf.Tensor, index: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [B, S, D] = x.shape as [number, number, number];
    const flat = tf.add(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(S, 'int32')), tf.cast(index, 'int32'));
    return tf.gather(tf.reshape(x, [B * S, D]), flat);
  });
}
