import { answerQueryImportance } from '../attention.js';
import { defineScorer } from '../define-scorer.js';

/**
 * Attention-only baseline (R-KV with λ = 1): the mean attention of the answer-segment queries
 * on each CoT token, softmax over the valid CoT, GQA-reduced by `input.groupReduce`.
 */
export const attentionScorer = defineScorer({
  name: 'attention',
  description: 'Baseline: keep the CoT tokens the answer queries attend to most (R-KV importance only, λ = 1).',
  needs: ['keys', 'answerQueries'],
  score: answerQueryImportance,
});
export const createAttentionScorer = attentionScorer.create;
