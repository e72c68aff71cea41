import { tf, z, defineScorer, maskedMean, maskedSoftmax, validRank } from '@kava/core';

/**
 * Expected Attention (Devoto et al. 2025, arXiv 2510.00636; kvpress's ExpectedAttentionPress), on
 * the CoT cache: the attention that queries still to come will pay each token, with those queries
 * modelled as a Gaussian N(μ, Σ) fitted to the last `window` CoT tokens' queries (per query head).
 * For a Gaussian q, E[exp(q·k/√d)] = exp(μ·k/√d + kᵀΣk/(2d)), so
 *   e[h, i]  = softmax_i(μ_h·k_i/√d + ½·k_iᵀΣ_h k_i/d)   over the valid tokens after the sinks;
 *   score[i] = (mean of e over the group's query heads + ε) · ‖v_i‖   (with valueNorm),
 * and the first `sinks` valid tokens are always kept. Both terms come from the window logits
 * s_t = q_t·k/√d: μ·k/√d is their mean and kᵀΣk/d their (population) variance, so no d×d matrix is
 * formed. Unlike kvpress, the queries are the window's own (after RoPE, at their positions), not
 * rotated to the future positions on average.
 */
export const expectedAttentionScorer = defineScorer({
  name: 'expected-attention',
  description:
    "Expected Attention: the attention future queries are expected to pay each CoT token (a Gaussian fitted to the last queries), times its value's norm.",
  options: z.strictObject({
    window: z
      .number()
      .int()
      .min(2)
      .default(16)
      .describe("Queries the Gaussian is fitted to: the last `window` CoT tokens' (at least 2, for a covariance)."),
    sinks: z
      .number()
      .int()
      .nonnegative()
      .default(4)
      .describe('Attention-sink tokens kept from the start of the CoT and left out of the softmax (kvpress: 4).'),
    covariance: z
      .boolean()
      .default(true)
      .describe('Include the queries’ covariance (½·kᵀΣk/d); false uses the mean query only.'),
    valueNorm: z.boolean().default(true).describe("Multiply each token's expected attention by its value's norm."),
    epsilon: z.number().nonnegative().default(0).describe('Added to the expected attention before the value norm.'),
  }),
  needs: ['keys', 'values', 'windowQueries'],
  window: (o) => o.window,
  score(input, { sinks, covariance, valueNorm, epsilon }, { B, L, Hkv, N, d }) {
    const queries = input.windowQueries!;
    const G = input.groupSize;
    const alpha = queries.shape[3]!;
    const queryMask = input.windowQueryMask ?? tf.ones([B, alpha]);
    const logits = tf
      .matMul(queries.reshape([B * L * Hkv, G * alpha, d]), input.keys.reshape([B * L * Hkv, N, d]), false, true)
      .mul(tf.scalar(1 / Math.sqrt(d)))
      .reshape([B, L, Hkv, G, alpha, N]);
    const weights = queryMask.reshape([B, 1, 1, 1, alpha, 1]);
    const mean = maskedMean(logits, weights, 4); // μ·k/√d: [B, L, Hkv, G, N]
    const variance = maskedMean(tf.square(tf.sub(logits, mean.expandDims(4))), weights, 4); // kᵀΣk/d
    const expected = covariance ? tf.add(mean, tf.mul(variance, 0.5)) : mean;
    const valid = tf.cast(tf.greater(input.mask, 0), 'float32');
    const sink = tf.mul(tf.cast(tf.less(validRank(valid), sinks), 'float32'), valid); // [B, N]
    const probs = maskedSoftmax(expected, tf.sub(valid, sink).reshape([B, 1, 1, 1, N]));
    let score = tf.mean(probs, 3); // [B, L, Hkv, N]
    if (valueNorm) score = tf.mul(tf.add(score, epsilon), tf.norm(input.values, 'euclidean', -1));
    const keep = tf.broadcastTo(tf.greater(sink.reshape([B, 1, 1, N]), 0), [B, L, Hkv, N]);
    return tf.where(keep, tf.fill([B, L, Hkv, N], Infinity), score);
  },
});
export const createExpectedAttentionScorer = expectedAttentionScorer.create;
