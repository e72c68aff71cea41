import {
  tf,
  z,
  defineScorer,
  answerQueryImportance,
  expandTokenMask,
  maskedSoftmax,
  meanCosineToOthers,
} from '@kava/core';

/**
 * KaVa's R-KV variant (KAVA-METHOD §3), per (example, layer, KV head):
 *   I[i] = mean over answer queries j of softmax_{i ∈ CoT}(q_j·k_i/√d)   (GQA reduced on the logits)
 *   R[i] = softmax_i( −(1/N_valid) · Σ_{j≠i} cos(k_i, k_j) )            (over valid tokens)
 *   S[i] = λ·I[i] + (1−λ)·R[i]
 * With λ = 0 the attention rows are not needed (and not asked for); with λ = 1 R is skipped.
 */
export const rkvScorer = defineScorer({
  name: 'rkv',
  description:
    "KaVa's R-KV: λ · answer-query attention + (1 − λ) · softmax of negative mean key cosine (KaVa default, λ = 0.1).",
  options: z.strictObject({
    lambda: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe(
        'Weight λ of answer-query importance; 1 − λ goes to (non-)redundancy. 0 needs no attention (ranks like keydiff).',
      ),
  }),
  needs: ({ lambda }) => (lambda > 0 ? ['keys', 'answerQueries'] : ['keys']),
  score(input, { lambda }) {
    const parts: tf.Tensor[] = [];
    if (lambda > 0) parts.push(tf.mul(answerQueryImportance(input), lambda));
    if (lambda < 1) {
      const meanCos = meanCosineToOthers(input.keys, input.mask);
      const redundancy = maskedSoftmax(tf.neg(meanCos), expandTokenMask(input.mask, 4));
      parts.push(tf.mul(redundancy, 1 - lambda));
    }
    return parts.length === 1 ? parts[0]! : tf.add(parts[0]!, parts[1]!);
  },
});
export const createRkvScorer = rkvScorer.create;
