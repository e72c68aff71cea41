import { createWordLevelTokenizer, wordPieces } from '../../tokenizer/word-level.js';
import type { HFTokenizer } from '../../tokenizer/hf-tokenizer.js';
import { ANSWER_PREFIX, BOT_TOKEN, EOT_TOKEN } from '../sequences.js';
import { allTemplateTexts, CONTAINERS, ITEMS, NAMES } from './templates.js';
import { DEFAULT_MAX_VALUE } from './generator.js';
import { verboseTemplateTexts } from './verbose.js';

/** Operator and annotation pieces of the equation traces (`<<3*4=12>>`). */
const EQUATION_PIECES = ['<<', '>>', '+', '-', '*', '/', '='];

/**
 * Every word piece a synthetic problem, its traces and its sequences can contain: the template
 * words, names, items, containers, the numbers 0..maxValue, the equation symbols and the answer
 * prefix. Closed by construction, so the task never produces an unknown token.
 */
export function syntheticVocabulary(
  maxValue: number = DEFAULT_MAX_VALUE,
  nlStyle: 'short' | 'verbose' = 'short',
): string[] {
  const words = new Set<string>();
  const addText = (text: string) => wordPieces(text.replace(/\{\w+\}/g, ' ')).forEach((w) => words.add(w));
  allTemplateTexts().forEach(addText);
  addText(ANSWER_PREFIX);
  NAMES.forEach(addText);
  [...ITEMS, ...CONTAINERS].flat().forEach(addText);
  EQUATION_PIECES.forEach((p) => words.add(p));
  for (let n = 0; n <= maxValue; n++) words.add(String(n));
  // Only when used (the embedding table and so the default run stay as they were), and last.
  if (nlStyle === 'verbose') verboseTemplateTexts().forEach(addText);
  return [...words];
}

/** The word-level tokenizer of the synthetic task, with `<bot>`/`<eot>` already in it. */
export function createSyntheticTokenizer(
  maxValue: number = DEFAULT_MAX_VALUE,
  nlStyle: 'short' | 'verbose' = 'short',
): HFTokenizer {
  return createWordLevelTokenizer(syntheticVocabulary(maxValue, nlStyle), { specialTokens: [BOT_TOKEN, EOT_TOKEN] });
}
