import { tf, defineScorer, windowAttentionPerHead } from '@kava/core';

/**
 * TOVA, Token Omission Via Attention (Oren et al. 2024, arXiv 2401.06104), on the CoT cache: the
 * last CoT token's attention, averaged over every query head of the layer, so all heads of a layer
 * keep the same tokens:
 *   score[l, i] = mean_h softmax_i(q_last·k_i/√d)  over the valid CoT tokens (the last one included).
 * As in the paper, the last token competes like any other (kvpress always keeps it).
 */
export const tovaScorer = defineScorer({
  name: 'tova',
  description:
    "TOVA: keep the CoT tokens the last token attends to most, averaged over the layer's heads (one choice per layer).",
  needs: ['keys', 'windowQueries'],
  window: () => 1,
  score(input, _options, { B, L, Hkv, N }) {
    const probs = windowAttentionPerHead(input); // [B, L, Hkv, G, 1, N]
    const perLayer = tf.mean(probs.reshape([B, L, -1, N]), 2, true); // [B, L, 1, N]
    return tf.broadcastTo(perLayer, [B, L, Hkv, N]);
  },
});
export const createTovaScorer = tovaScorer.create;
