import { tf } from '../../tf.js';
import { defineScorer } from '../define-scorer.js';
import { validCount, validRank } from '../masked.js';

/**
 * Uniform-stride baseline: of N_valid CoT tokens keep the M at ranks ⌊j·(N_valid−1)/(M−1) + ½⌋,
 * j = 0..M−1 (evenly spaced, first and last included; `torch.linspace(...).round()` with
 * halves rounded up). Those tokens score 1, the others 0. When N_valid ≤ M every token is kept.
 */
export const uniformScorer = defineScorer({
  name: 'uniform',
  description: 'Baseline: keep M CoT tokens evenly spaced from the first to the last.',
  score(input, _options, { B, N }) {
    const M = input.budget;
    const rank = validRank(input.mask); // [B, N]
    const stride = M > 1 ? tf.div(tf.sub(validCount(input.mask), 1), M - 1) : tf.zeros([B, 1]); // [B, 1]
    const grid = tf.floor(tf.add(tf.mul(tf.range(0, M).reshape([1, M]), stride), 0.5)); // [B, M]
    const onGrid = tf.any(tf.equal(rank.reshape([B, N, 1]), grid.reshape([B, 1, M])), 2); // [B, N]
    return tf.mul(onGrid.toFloat(), input.mask);
  },
});
export const createUniformScorer = uniformScorer.create;
