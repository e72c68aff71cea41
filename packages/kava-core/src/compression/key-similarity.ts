import { tf } from '../tf.js';
import { expandTokenMask } from './masked.js';

type Tensor = tf.Tensor;

/** Guards the norm of an all-zero key; matches R-KV's `k / (‖k‖ + 1e-8)`. */
export const KEY_NORM_EPS = 1e-8;

/** Each key divided by its L2 norm (+1e-8): [..., N, d] → same shape; a zero key stays zero. */
export function normalizeKeys(keys: Tensor): Tensor {
  return tf.tidy(() => tf.div(keys, tf.add(tf.norm(keys, 'euclidean', -1, true), tf.scalar(KEY_NORM_EPS))));
}

/** L2 norm of every key: [B, L, H_kv, N, d] → [B, L, H_kv, N]. */
export function keyNorms(keys: Tensor): Tensor {
  return tf.tidy(() => tf.norm(keys, 'euclidean', -1));
}

/** Pairwise cosine similarity of the keys, [B, L, H_kv, N, d] → [B, L, H_kv, N, N]. */
export function cosineSimilarityMatrix(keys: Tensor): Tensor {
  return tf.tidy(() => {
    const unit = normalizeKeys(keys);
    return tf.matMul(unit, unit, false, true);
  });
}

/**
 * The sum of unit keys over the valid tokens, [B, L, H_kv, 1, d]: Σ_j mask_j · k̂_j, from unit
 * keys [B, L, H_kv, N, d] (see normalizeKeys). KeyDiff's anchor and R-KV's mean cosine both
 * come from it.
 */
export function validUnitKeySum(unitKeys: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    const weights = expandTokenMask(mask, unitKeys.rank - 1).expandDims(-1); // [B, 1, 1, N, 1]
    return tf.sum(tf.mul(unitKeys, weights), -2, true);
  });
}

/**
 * `(1/N_valid) · Σ_{j≠i, j valid} cos(k_i, k_j)` for every token i, [B, L, H_kv, N].
 * Computed in O(N·d) rather than from the N×N matrix, since
 * Σ_{j≠i} k̂_i·k̂_j = k̂_i·(Σ_j k̂_j) − k̂_i·k̂_i (the last term is 1, or 0 for a zero key).
 * Values at padding rows are meaningless; padding never contributes to a valid row.
 */
export function meanCosineToOthers(keys: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    const unit = normalizeKeys(keys);
    const toAll = tf.sum(tf.mul(unit, validUnitKeySum(unit, mask)), -1); // k̂_i · Σ_j k̂_j
    const self = tf.sum(tf.square(unit), -1); // k̂_i · k̂_i
    const count = tf.maximum(tf.sum(mask, 1), tf.scalar(1)).reshape([mask.shape[0]!, 1, 1, 1]);
    return tf.div(tf.sub(toAll, self), count);
  });
}
