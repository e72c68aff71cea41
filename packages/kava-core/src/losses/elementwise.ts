import { z } from 'zod';
import { tf } from '../tf.js';

type Tensor = tf.Tensor;

/** The distances a loss term may use (`type` in `losses.codi` and `losses.kv`). */
export const DISTANCE = z.enum(['smooth-l1', 'l1', 'mse']);
export type DistanceKind = z.output<typeof DISTANCE>;

/** Elementwise distance between prediction and target (smooth-L1 with beta = 1, as PyTorch's default). */
export function elementwiseDistance(pred: Tensor, target: Tensor, kind: DistanceKind): Tensor {
  return tf.tidy(() => {
    const diff = tf.sub(pred, target);
    switch (kind) {
      case 'mse':
        return tf.square(diff);
      case 'l1':
        return tf.abs(diff);
      case 'smooth-l1': {
        // 0.5·min(|d|,1)² + (|d| − min(|d|,1)): equal to the piecewise form, written with ops
        // that all have gradients in tfjs (tf.where's condition would need one for Less).
        const abs = tf.abs(diff);
        const small = tf.minimum(abs, 1);
        return tf.add(tf.mul(tf.square(small), 0.5), tf.sub(abs, small));
      }
    }
  });
}

/** Masked mean cross-entropy of `logits` [B, S, V] against int32 `targets` [B, S] where `mask` [B, S] is 1. */
export function maskedCrossEntropy(logits: Tensor, targets: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    const vocab = logits.shape[logits.shape.length - 1]!;
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.cast(targets, 'int32'), vocab)), -1);
    const m = tf.cast(mask, 'float32');
    return tf.div(tf.neg(tf.sum(tf.mul(picked, m))), tf.maximum(tf.sum(m), 1));
  });
}
