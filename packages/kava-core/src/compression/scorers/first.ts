import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({});

/** Crop baseline: the earliest CoT tokens win (score = −position). */
export function createFirstScorer(): KVScorer {
  return {
    name: 'first',
    needs: ['keys'],
    score(input: ScorerInput) {
      const { B, L, Hkv, N } = checkScorerInput(input, 'first');
      return tf.tidy(() => tf.broadcastTo(tf.neg(input.positions.toFloat()).reshape([B, 1, 1, N]), [B, L, Hkv, N]).clone());
    },
  };
}

export const firstScorer: ScorerRegistration = {
  name: 'first',
  description: 'Baseline: keep the first M CoT tokens (crop).',
  options,
  create: (raw) => {
    parseScorerOptions('first', options, raw);
    return createFirstScorer();
  },
};
