import { tf } from '../../tf.js';
import { defineScorer } from '../define-scorer.js';
import { keyNorms } from '../key-similarity.js';

/** Key-norm baseline ("Knorm"): low-norm keys draw more attention, so score = −‖k_i‖. */
export const knormScorer = defineScorer({
  name: 'knorm',
  description: 'Baseline (Knorm): keep the CoT tokens whose keys have the smallest L2 norm (score −‖k‖).',
  score: (input) => tf.neg(keyNorms(input.keys)),
});
export const createKnormScorer = knormScorer.create;
