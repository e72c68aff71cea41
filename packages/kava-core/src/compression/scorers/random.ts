import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({
  seed: z.number().int().nullable().default(null)
    .describe('Fixed seed for every call; null takes the seed the trainer passes with each micro-batch (derived from train.seed, the step and the micro-batch).'),
});

/**
 * Random baseline: uniform scores in [0, 1) per (example, layer, head, token). The same seed
 * gives the same scores on every backend (tfjs draws them in JavaScript).
 */
export function createRandomScorer(opts: { seed?: number | null } = {}): KVScorer {
  return {
    name: 'random',
    needs: ['keys'],
    score(input: ScorerInput) {
      const { B, L, Hkv, N } = checkScorerInput(input, 'random');
      return tf.randomUniform([B, L, Hkv, N], 0, 1, 'float32', opts.seed ?? input.seed);
    },
  };
}

export const randomScorer: ScorerRegistration = {
  name: 'random',
  description: 'Baseline: keep a seeded random subset of CoT tokens, independently per layer and head.',
  options,
  create: (raw) => createRandomScorer(parseScorerOptions('random', options, raw)),
};
