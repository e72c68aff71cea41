import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { keyNorms } from '../key-similarity.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({});

/** Key-norm baseline ("Knorm"): low-norm keys draw more attention, so score = −‖k_i‖. */
export function createKnormScorer(): KVScorer {
  return {
    name: 'knorm',
    needs: ['keys'],
    score(input: ScorerInput) {
      checkScorerInput(input, 'knorm');
      return tf.tidy(() => tf.neg(keyNorms(input.keys)));
    },
  };
}

export const knormScorer: ScorerRegistration = {
  name: 'knorm',
  description: 'Baseline (Knorm): keep the CoT tokens whose keys have the smallest L2 norm (score −‖k‖).',
  options,
  create: (raw) => {
    parseScorerOptions('knorm', options, raw);
    return createKnormScorer();
  },
};
