import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { validRank } from '../masked.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({
  sinks: z.number().int().nonnegative().default(4)
    .describe('Attention-sink tokens kept from the start of the CoT (StreamingLLM uses 4); the rest of the budget goes to the most recent tokens.'),
});

/**
 * Recency baseline (StreamingLLM): the first `sinks` valid CoT tokens, then the most recent
 * ones. Scores: sink of rank r → 2N − r (earliest first if the budget is smaller than the
 * sinks), any other token → its rank r among the valid tokens (later = higher).
 */
export function createRecentScorer(opts: { sinks?: number } = {}): KVScorer {
  const sinks = opts.sinks ?? 4;
  return {
    name: 'recent',
    needs: ['keys'],
    score(input: ScorerInput) {
      const { B, L, Hkv, N } = checkScorerInput(input, 'recent');
      return tf.tidy(() => {
        const rank = validRank(input.mask);
        const sinkScore = tf.sub(tf.scalar(2 * N), rank);
        const scores = tf.where(tf.less(rank, sinks), sinkScore, rank);
        return tf.broadcastTo(scores.reshape([B, 1, 1, N]), [B, L, Hkv, N]).clone();
      });
    },
  };
}

export const recentScorer: ScorerRegistration = {
  name: 'recent',
  description: 'Baseline (StreamingLLM): keep a few sink tokens from the start plus the most recent CoT tokens.',
  options,
  create: (raw) => createRecentScorer(parseScorerOptions('recent', options, raw)),
};
