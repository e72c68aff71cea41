import { tf } from '../tf.js';

type Tensor = tf.Tensor;

/**
 * Broadcasts a [B, N] token mask against a tensor whose first axis is B and last axis is N
 * (e.g. scores [B, L, H_kv, N] or logits [B, L, H_kv, Q, N]) by inserting unit axes between.
 */
export function expandTokenMask(mask: Tensor, rank: number): Tensor {
  const [b, n] = mask.shape as [number, number];
  return mask.reshape([b, ...new Array<number>(rank - 2).fill(1), n]);
}

/**
 * Softmax over the last axis restricted to positions where `mask` is 1: masked positions get
 * probability 0 and never influence the others (they are set to −∞, not to a large negative
 * constant that could still leak mass). A row with no valid position is all zeros rather than
 * NaN. `mask` broadcasts against `logits`; logits must be finite.
 */
export function maskedSoftmax(logits: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    // Three broadcasting ops in all (bias, shift, normalise): they dominate on the cpu backend.
    const bias = tf.where(tf.greater(mask, 0), tf.zerosLike(mask), tf.fill(mask.shape, -Infinity));
    const masked = tf.add(logits, bias);
    const rowMax = tf.max(masked, -1, true);
    // A fully masked row has max −∞; shift by 0 there so exp(−∞ − 0) = 0 instead of NaN.
    const shift = tf.where(tf.isFinite(rowMax), rowMax, tf.zerosLike(rowMax));
    const e = tf.exp(tf.sub(masked, shift));
    return tf.div(e, tf.maximum(tf.sum(e, -1, true), 1e-30));
  });
}

/**
 * Mean over `axis` counting only entries where `weights` is 1 (`weights` broadcasts against
 * `x`). Entries with no valid element give 0.
 */
export function maskedMean(x: Tensor, weights: Tensor, axis: number): Tensor {
  return tf.tidy(() => {
    const w = tf.broadcastTo(weights, x.shape);
    return tf.div(tf.sum(tf.mul(x, w), axis), tf.maximum(tf.sum(w, axis), tf.scalar(1)));
  });
}

/**
 * For a [B, N] validity mask, each token's rank among the valid tokens of its example
 * (0 for the first valid token), as float32 [B, N]; padding gets the rank of the next valid
 * token, so always combine with the mask.
 */
export function validRank(mask: Tensor): Tensor {
  return tf.tidy(() => tf.sub(tf.cumsum(mask, 1), mask));
}

/** Number of valid tokens per example, float32 [B, 1]. */
export function validCount(mask: Tensor): Tensor {
  return tf.tidy(() => tf.sum(mask, 1, true));
}
