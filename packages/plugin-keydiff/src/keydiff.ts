import {
  tf, z, checkScorerInput, normalizeKeys, parseScorerOptions, validCount, validUnitKeySum,
  type KVScorer, type ScorerInput, type ScorerRegistration,
} from '@kava/core';

const options = z.strictObject({});

/**
 * KeyDiff (arXiv 2504.15364): keep the keys least like the average direction.
 * anchor = mean over valid i of k_i/‖k_i‖; score_i = −cos(k_i, anchor). Keys only.
 * Since Σ_{j≠i} cos(k_i, k_j) = N_valid·‖anchor‖·cos(k_i, anchor) − 1, it ranks exactly like
 * `rkv` with λ = 0.
 */
export function createKeyDiffScorer(): KVScorer {
  return {
    name: 'keydiff',
    needs: ['keys'],
    score(input: ScorerInput) {
      const { B } = checkScorerInput(input, 'keydiff');
      return tf.tidy(() => {
        const unit = normalizeKeys(input.keys);
        const count = tf.maximum(validCount(input.mask), 1).reshape([B, 1, 1, 1, 1]);
        const anchor = tf.div(validUnitKeySum(unit, input.mask), count); // [B, L, H_kv, 1, d]
        const anchorNorm = tf.norm(anchor, 'euclidean', -1); // [B, L, H_kv, 1]
        const cos = tf.div(tf.sum(tf.mul(unit, anchor), -1), tf.maximum(anchorNorm, 1e-8));
        return tf.neg(cos);
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
