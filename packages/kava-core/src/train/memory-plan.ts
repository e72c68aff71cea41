import type { KavaConfig } from '../config/schema.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import type { Example } from '../contracts/dataset.js';
import { encodeExample } from '../data/sequences.js';
import { encodeOptions } from './data.js';
import { latentPlan } from '../latent/plan.js';

/** Token lengths of one example's pieces, as the trainer encodes them (limits applied). */
export interface PieceLengths {
  question: number;
  cot: number;
  answer: number;
}

/** The configured limits: what an estimate assumes when it has no data to look at. */
export function limitLengths(config: KavaConfig): PieceLengths {
  return {
    question: config.train.maxQuestionTokens,
    cot: config.train.maxCotTokens,
    answer: config.train.maxAnswerTokens,
  };
}

/**
 * The longest pieces over (a sample of) the training examples, encoded as the trainer does: a
 * micro-batch pads to its longest example, so the step that peaks holds about these lengths.
 */
export function dataLengths(
  config: KavaConfig,
  tokenizer: Tokenizer,
  examples: readonly Example[],
  sample = 512,
): PieceLengths {
  const out = { question: 0, cot: 0, answer: 0 };
  const step = Math.max(1, Math.floor(examples.length / sample));
  const encode = encodeOptions(config);
  for (let i = 0; i < examples.length; i += step) {
    const e = encodeExample(tokenizer, examples[i]!, encode);
    out.question = Math.max(out.question, e.question.length);
    out.cot = Math.max(out.cot, e.cot.length);
    out.answer = Math.max(out.answer, e.answer.length);
  }
  return out;
}

/**
 * Tokens whose activations one training step keeps for its backward pass, per example: every
 * forward pass of the method (teacher over question + CoT + answer; the latent student's prefix,
 * its Jacobi iterations over the M latents and the final pass), and those of them that compute
 * vocabulary logits; and the longest pass (its attention rows).
 */
export function stepTokens(config: KavaConfig, n: PieceLengths): { active: number; logits: number; longest: number } {
  const specials = 4; // <bot>, <eot>, the answer prefix's own tokens are counted in `answer`
  const written = n.question + n.cot + n.answer + specials;
  const direct = n.question + n.answer + specials;
  switch (config.method) {
    case 'full-cot':
      return { active: written, logits: written, longest: written };
    case 'no-cot':
      return { active: direct, logits: direct, longest: direct };
    default: {
      const latent = latentPlan(config.latent);
      const final = latent.count + n.answer + specials;
      const student = n.question + 1 + latent.rolloutPositions + final;
      return { active: written + student, logits: written + final, longest: Math.max(written, student) };
    }
  }
}
