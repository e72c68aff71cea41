import { tf } from '../tf.js';

type Tensor = tf.Tensor;

/** Guards the norm of an all-zero key; matches R-KV's `k / (‖k‖ + 1e-8)`. */
export const KEY_NORM_EPS = 1e-8;

// The helpers below reduce over tokens with small matmuls instead of broadcasting a [N] mask or
// norm against the [N, d] keys: tfjs's cpu backend runs broadcasting binary ops ~100× slower
// than plain elementwise ones, and a [1, N]·[N, d] matmul per (layer, head) is cheap everywhere.

/** L2 norm of every key: [B, L, H_kv, N, d] → [B, L, H_kv, N]. */
export function keyNorms(keys: Tensor): Tensor {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(keys), -1)));
}

/** Each key divided by its L2 norm (+1e-8): [..., N, d] → same shape; a zero key stays zero. */
export function normalizeKeys(keys: Tensor): Tensor {
  return tf.tidy(() => tf.div(keys, tf.add(keyNorms(keys).expandDims(-1), KEY_NORM_EPS)));
}

/** Pairwise cosine similarity of the keys, [B, L, H_kv, N, d] → [B, L, H_kv, N, N]. */
export function cosineSimilarityMatrix(keys: Tensor): Tensor {
  return tf.tidy(() => {
    const unit = normalizeKeys(keys);
    return tf.matMul(unit, unit, false, true);
  });
}

/**
 * S = Σ_j mask_j · k̂_j, the sum of the unit keys over the valid tokens: [B, L, H_kv, 1, d] from
 * keys [B, L, H_kv, N, d] and mask [B, N]. KeyDiff's anchor is S / N_valid; R-KV's mean cosine
 * is built from k̂_i · S.
 */
export function validUnitKeySum(keys: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L, H, N] = keys.shape as number[] as [number, number, number, number];
    const weights = tf.div(mask.reshape([B, 1, 1, N]), tf.add(keyNorms(keys), KEY_NORM_EPS)); // mask_j / ‖k_j‖
    return tf.matMul(weights.reshape([B, L, H, 1, N]), keys);
  });
}

/** k̂_i · v for every key i and one vector v [B, L, H_kv, 1, d] per head: [B, L, H_kv, N]. */
export function unitKeyDot(keys: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => {
    const dots = tf.matMul(keys, v, false, true).squeeze([-1]); // k_i · v
    return tf.div(dots, tf.add(keyNorms(keys), KEY_NORM_EPS));
  });
}

/**
 * `(1/N_valid) · Σ_{j≠i, j valid} cos(k_i, k_j)` for every token i, [B, L, H_kv, N].
 * Computed in O(N·d) rather than from the N×N matrix, since
 * Σ_{j≠i} k̂_i·k̂_j = k̂_i·S − k̂_i·k̂_i with S = Σ_j k̂_j (the last term is 1, or 0 for a zero
 * key). Values at padding rows are meaningless; padding never contributes to a valid row.
 */
export function meanCosineToOthers(keys: Tensor, mask: Tensor): Tensor {
  return tf.tidy(() => {
    const norms = keyNorms(keys);
    const toAll = unitKeyDot(keys, validUnitKeySum(keys, mask));
    const self = tf.square(tf.div(norms, tf.add(norms, KEY_NORM_EPS)));
    const count = tf.maximum(tf.sum(mask, 1), 1).reshape([mask.shape[0]!, 1, 1, 1]);
    return tf.div(tf.sub(toAll, self), count);
  });
}
