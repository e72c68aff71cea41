import { tf, z, defineScorer, avgPoolTokens, lastValidTokens, maskedMean, windowAttentionPerHead } from '@kava/core';

/**
 * SnapKV (Li et al. 2024, arXiv 2404.14469), on the CoT cache. The last `window` CoT tokens are
 * the observation window:
 *   A[h, t, i] = softmax_i(q_t·k_i/√d) over the valid tokens up to t (causal), per query head h;
 *   s[h, i]    = mean over the window queries t of A[h, t, i], for the tokens before the window;
 *   s'[h, i]   = avg_pool1d(s[h], kernelSize, padding kernelSize // 2), zero padding counted;
 *   score[i]   = mean of s' over the query heads of the KV head's group,
 * and the window tokens themselves are always kept (score +∞). As kvpress's SnapKVPress computes
 * it (the group mean follows SnapKV issue #22), with the softmax over the CoT rather than the whole
 * sequence, as every scorer here sees only the CoT.
 */
export const snapkvScorer = defineScorer({
  name: 'snapkv',
  description:
    "SnapKV: the attention of the CoT's last tokens (the observation window) on the tokens before, mean-pooled over neighbours; the window is kept.",
  options: z.strictObject({
    window: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe('Observation window: the last `window` CoT tokens, whose queries score the rest; always kept.'),
    kernelSize: z
      .number()
      .int()
      .positive()
      .refine((k) => k % 2 === 1, 'must be odd')
      .default(5)
      .describe('Width of the mean pooling over neighbouring tokens (odd; SnapKV uses 5).'),
  }),
  needs: ['keys', 'windowQueries'],
  window: (o) => o.window,
  score(input, { kernelSize }, { B, L, Hkv, N }) {
    const probs = windowAttentionPerHead(input); // [B, L, Hkv, G, α, N]
    const alpha = probs.shape[4]!;
    const queryMask = input.windowQueryMask ?? tf.ones([B, alpha]);
    const valid = tf.cast(tf.greater(input.mask, 0), 'float32');
    const inWindow = lastValidTokens(valid, tf.sum(queryMask, 1, true)); // [B, N]
    const before = tf.sub(valid, inWindow).reshape([B, 1, 1, 1, N]);
    const perQuery = maskedMean(probs, queryMask.reshape([B, 1, 1, 1, alpha, 1]), 4); // [B, L, Hkv, G, N]
    const pooled = avgPoolTokens(tf.mul(perQuery, before), kernelSize);
    const score = tf.mean(pooled, 3); // [B, L, Hkv, N]
    const keep = tf.broadcastTo(tf.greater(inWindow.reshape([B, 1, 1, N]), 0), [B, L, Hkv, N]);
    return tf.where(keep, tf.fill([B, L, Hkv, N], Infinity), score);
  },
});
export const createSnapkvScorer = snapkvScorer.create;
