import {
  tf, z, checkScorerInput, parseScorerOptions, unitKeyDot, validUnitKeySum,
  type KVScorer, type ScorerInput, type ScorerRegistration,
} from '@kava/core';

const options = z.strictObject({});

/**
 * KeyDiff (arXiv 2504.15364): keep the keys least like the average direction.
 * anchor = mean over valid i of k_i/‖k_i‖; score_i = −cos(k_i, anchor) = −k̂_i·S/‖S‖ with
 * S = Σ_j k̂_j (the 1/N_valid cancels). Keys only.
 * Since Σ_{j≠i} cos(k_i, k_j) = k̂_i·S − 1, it ranks exactly like `rkv` with λ = 0.
 */
export function createKeyDiffScorer(): KVScorer {
  return {
    name: 'keydiff',
    needs: ['keys'],
    score(input: ScorerInput) {
      checkScorerInput(input, 'keydiff');
      return tf.tidy(() => {
        const sum = validUnitKeySum(input.keys, input.mask); // [B, L, H_kv, 1, d]
        const sumNorm = tf.norm(sum, 'euclidean', -1); // [B, L, H_kv, 1]
        return tf.neg(tf.div(unitKeyDot(input.keys, sum), tf.maximum(sumNorm, 1e-8)));
      });
    },
  };
}

export const keydiffScorer: ScorerRegistration = {
  name: 'keydiff',
  description: 'KeyDiff: keep the CoT tokens whose keys point furthest from the mean key direction (keys only, no attention).',
  options,
  create: (raw) => {
    parseScorerOptions('keydiff', options, raw);
    return createKeyDiffScorer();
  },
};
