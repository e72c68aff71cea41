import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { validCount, validRank } from '../masked.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({});

/**
 * Uniform-stride baseline: of N_valid CoT tokens keep the M at ranks ⌊j·(N_valid−1)/(M−1) + ½⌋,
 * j = 0..M−1 (evenly spaced, first and last included; `torch.linspace(...).round()` with
 * halves rounded up). Those tokens score 1, the others 0. When N_valid ≤ M every token is kept.
 */
export function createUniformScorer(): KVScorer {
  return {
    name: 'uniform',
    needs: ['keys'],
    score(input: ScorerInput) {
      const { B, L, Hkv, N } = checkScorerInput(input, 'uniform');
      const M = input.budget;
      return tf.tidy(() => {
        const rank = validRank(input.mask); // [B, N]
        const stride = M > 1 ? tf.div(tf.sub(validCount(input.mask), 1), M - 1) : tf.zeros([B, 1]); // [B, 1]
        const grid = tf.floor(tf.add(tf.mul(tf.range(0, M).reshape([1, M]), stride), 0.5)); // [B, M]
        const onGrid = tf.any(tf.equal(rank.reshape([B, N, 1]), grid.reshape([B, 1, M])), 2); // [B, N]
        const chosen = tf.mul(onGrid.toFloat(), input.mask);
        return tf.broadcastTo(chosen.reshape([B, 1, 1, N]), [B, L, Hkv, N]).clone();
      });
    },
  };
}

export const uniformScorer: ScorerRegistration = {
  name: 'uniform',
  description: 'Baseline: keep M CoT tokens evenly spaced from the first to the last.',
  options,
  create: (raw) => {
    parseScorerOptions('uniform', options, raw);
    return createUniformScorer();
  },
};
