import { z } from 'zod';
import { tf } from '../../tf.js';
import { defineScorer } from '../define-scorer.js';

/**
 * Random baseline: uniform scores in [0, 1) per (example, layer, head, token). The same seed
 * gives the same scores on every backend (tfjs draws them in JavaScript).
 */
export const randomScorer = defineScorer({
  name: 'random',
  description: 'Baseline: keep a seeded random subset of CoT tokens, independently per layer and head.',
  options: z.strictObject({
    seed: z
      .number()
      .int()
      .nullable()
      .default(null)
      .describe(
        'Fixed seed for every call; null takes the seed the trainer passes with each micro-batch (derived from train.seed, the step and the micro-batch).',
      ),
  }),
  score: (input, { seed }, { B, L, Hkv, N }) => tf.randomUniform([B, L, Hkv, N], 0, 1, 'float32', seed ?? input.seed),
});
export const createRandomScorer = randomScorer.create;
