import { tf } from '../../tf.js';
import { defineScorer } from '../define-scorer.js';

/** Crop baseline: the earliest CoT tokens win (score = −position). */
export const firstScorer = defineScorer({
  name: 'first',
  description: 'Baseline: keep the first M CoT tokens (crop).',
  score: (input) => tf.neg(input.positions.toFloat()),
});
export const createFirstScorer = firstScorer.create;
