import { tf, defineScorer, unitKeyDot, validUnitKeySum } from '@kava/core';

/**
 * KeyDiff (arXiv 2504.15364): keep the keys least like the average direction.
 * anchor = mean over valid i of k_i/‖k_i‖; score_i = −cos(k_i, anchor) = −k̂_i·S/‖S‖ with
 * S = Σ_j k̂_j (the 1/N_valid cancels). Keys only.
 * Since Σ_{j≠i} cos(k_i, k_j) = k̂_i·S − 1, it ranks exactly like `rkv` with λ = 0.
 */
export const keydiffScorer = defineScorer({
  name: 'keydiff',
  description:
    'KeyDiff: keep the CoT tokens whose keys point furthest from the mean key direction (keys only, no attention).',
  score({ keys, mask }) {
    const sum = validUnitKeySum(keys, mask); // [B, L, H_kv, 1, d]
    const sumNorm = tf.norm(sum, 'euclidean', -1); // [B, L, H_kv, 1]
    return tf.neg(tf.div(unitKeyDot(keys, sum), tf.maximum(sumNorm, 1e-8)));
  },
});
export const createKeyDiffScorer = keydiffScorer.create;
