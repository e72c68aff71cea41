import { z } from 'zod';
import { tf } from '../../tf.js';
import { defineScorer } from '../define-scorer.js';
import { validRank } from '../masked.js';

/**
 * Recency baseline (StreamingLLM): the first `sinks` valid CoT tokens, then the most recent
 * ones. Scores: sink of rank r → 2N − r (earliest first if the budget is smaller than the
 * sinks), any other token → its rank r among the valid tokens (later = higher).
 */
export const recentScorer = defineScorer({
  name: 'recent',
  description: 'Baseline (StreamingLLM): keep a few sink tokens from the start plus the most recent CoT tokens.',
  options: z.strictObject({
    sinks: z
      .number()
      .int()
      .nonnegative()
      .default(4)
      .describe(
        'Attention-sink tokens kept from the start of the CoT (StreamingLLM uses 4); the rest of the budget goes to the most recent tokens.',
      ),
  }),
  score(input, { sinks }, { N }) {
    const rank = validRank(input.mask);
    return tf.where(tf.less(rank, sinks), tf.sub(tf.scalar(2 * N), rank), rank);
  },
});
export const createRecentScorer = recentScorer.create;
