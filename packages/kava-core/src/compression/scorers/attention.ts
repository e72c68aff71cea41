import { z } from 'zod';
import { tf } from '../../tf.js';
import type { KVScorer, ScorerInput } from '../../contracts/scorer.js';
import type { ScorerRegistration } from '../../plugin/registry.js';
import { answerQueryImportance } from '../attention.js';
import { checkScorerInput } from '../scorer-input.js';
import { parseScorerOptions } from '../scorer-options.js';

const options = z.strictObject({});

/**
 * Attention-only baseline (R-KV with λ = 1): the mean attention of the answer-segment queries
 * on each CoT token, softmax over the valid CoT, GQA-reduced by `input.groupReduce`.
 */
export function createAttentionScorer(): KVScorer {
  const needs = ['keys', 'answerQueries'] as const;
  return {
    name: 'attention',
    needs,
    score(input: ScorerInput) {
      checkScorerInput(input, 'attention', needs);
      return tf.tidy(() => answerQueryImportance(input));
    },
  };
}

export const attentionScorer: ScorerRegistration = {
  name: 'attention',
  description: 'Baseline: keep the CoT tokens the answer queries attend to most (R-KV importance only, λ = 1).',
  options,
  create: (raw) => {
    parseScorerOptions('attention', options, raw);
    return createAttentionScorer();
  },
};
