import { tf, z, defineScorer, lastValidTokens, windowAttentionPerHead } from '@kava/core';

/**
 * H2O, Heavy-Hitter Oracle (Zhang et al. 2023, arXiv 2306.14048), on the CoT cache: a token's
 * score is the attention it has accumulated from the queries after it,
 *   score[i] = Σ_t softmax_i(q_t·k_i/√d)  over the last `window` CoT tokens' queries t (causal:
 *              each over the valid tokens up to itself), averaged over the KV head's query heads,
 * and, as H2O splits its budget, the most recent ⌊recent · M⌋ tokens are kept whatever their
 * score (+∞). A `window` at least the CoT's length accumulates over every query, as H2O does;
 * the softmax runs over the CoT, not the question before it.
 */
export const h2oScorer = defineScorer({
  name: 'h2o',
  description:
    'H2O: keep the heavy hitters, the CoT tokens with the most attention accumulated from the queries after them, plus the most recent tokens.',
  options: z.strictObject({
    window: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe(
        "Queries accumulated: the last `window` CoT tokens' (at least the CoT's length for H2O's sum over every query).",
      ),
    recent: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Fraction of the budget M kept for the most recent tokens (H2O splits it evenly: 0.5).'),
  }),
  needs: ['keys', 'windowQueries'],
  window: (o) => o.window,
  score(input, { recent }, { B, L, Hkv, N }) {
    const accumulated = tf.mean(tf.sum(windowAttentionPerHead(input), 4), 3); // [B, L, Hkv, N]
    const recentCount = Math.floor(recent * input.budget);
    if (recentCount === 0) return accumulated;
    const keep = lastValidTokens(input.mask, tf.fill([B, 1], recentCount)).reshape([B, 1, 1, N]);
    return tf.where(
      tf.broadcastTo(tf.greater(keep, 0), [B, L, Hkv, N]),
      tf.fill([B, L, Hkv, N], Infinity),
      accumulated,
    );
  },
});
export const createH2oScorer = h2oScorer.create;
