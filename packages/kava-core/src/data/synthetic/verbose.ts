/**
 * The verbose natural-language trace style of the synthetic task (`data.synthetic.nlStyle:
 * "verbose"`): the shape of GSM8k-AUG-NL's long traces at small scale. Each step is one of
 * several paraphrases, the first restates the question and the starting amount, and connective
 * filler sits between steps, so a trace is 3–5× the tokens of its equation trace: M latents have
 * to summarise far more than they can keep, which is where the choice of scorer matters.
 *
 * Placeholders as in templates.ts: {name} {friend} {items} {item} {containers} {container}
 * {a} {b} {v} {k} {r}.
 */
import { Rng } from '../../util/rng.js';
import type { Operation } from './templates.js';

/** What the problem did, in order: a stated start (no step), a starting product a*b=v (a step), or v op k = r (a step). */
export type StepRecord =
  | { kind: 'start'; v: number }
  | { kind: 'product'; a: number; b: number; v: number }
  | { kind: Operation; v: number; k: number; r: number };

export const VERBOSE_RESTATE = [
  'We want to know how many {items} {name} has at the end.',
  'The question asks for the number of {items} that {name} has in the end.',
  'Let us work out how many {items} {name} ends up with.',
];

export const VERBOSE_PLAN = [
  'We go through what happens one event at a time.',
  'We follow the story in order and keep a running count.',
  'Let us keep track of the count step by step.',
  '',
];

/** The starting amount when the problem states it directly (no step of its own). */
export const VERBOSE_START = ['At the start {name} has {v} {items}.', 'In the beginning there are {v} {items}.'];

export const VERBOSE_PRODUCT = [
  'At the start there are {a} {containers} with {b} {items} in each. So {a} times {b} is {v} {items} to begin with.',
  'First we count the {items}: {a} {containers} of {b} {items} each is {v} {items} at the start.',
];

export const VERBOSE_STEPS: Record<Operation, string[]> = {
  '+': [
    'Next, {name} gets {k} more {items}. So we add {k} to {v}, and {v} plus {k} gives {r} {items}.',
    'Then the count goes up by {k}. From {v} {items} and {k} more, {name} now has {r} {items}.',
    'After that, {k} {items} are added. We had {v} before, so now there are {r}.',
  ],
  '-': [
    'Next, {name} has {k} fewer {items}. So we take {k} away from {v}, and {v} minus {k} leaves {r} {items}.',
    'Then the count goes down by {k}. From {v} {items} without {k} of them, {name} has {r} left.',
    'After that, {k} {items} are gone. We had {v} before, so we are left with {r}.',
  ],
  '*': [
    'Next, the amount becomes {k} times as large. So we multiply {v} by {k}, and {v} times {k} is {r} {items}.',
    'Then the {items} grow {k} times over: {k} groups of {v} make {r} {items}.',
  ],
  '/': [
    'Next, the {items} are split into {k} equal parts and one is kept. So we divide {v} by {k}, which is {r} {items}.',
    'Then the {v} {items} are shared in {k} equal shares. One share is {r} {items}, so {name} keeps {r}.',
  ],
};

/** Connective filler put before some steps after the first. */
export const VERBOSE_FILLER = ['Now we continue with the new count.', 'We keep this number in mind.', '', ''];

/** Every verbose template text, for the word-level vocabulary. */
export function verboseTemplateTexts(): string[] {
  return [
    ...VERBOSE_RESTATE,
    ...VERBOSE_PLAN,
    ...VERBOSE_START,
    ...VERBOSE_PRODUCT,
    ...Object.values(VERBOSE_STEPS).flat(),
    ...VERBOSE_FILLER,
  ];
}

/** A 32-bit FNV-1a hash: the verbose wording is a function of the question alone. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The verbose trace of a problem, one string per step (the first also restates the question).
 * Its own random stream, seeded by the question, chooses the wording: the problems themselves
 * (and so the equation and short NL traces) are exactly those of the generator's stream.
 */
export function verboseTrace(
  question: string,
  records: readonly StepRecord[],
  slots: Record<string, string | number>,
  fill: (template: string, slots: Record<string, string | number>) => string,
): string[] {
  const rng = new Rng(hash(question));
  const pick = (items: readonly string[]) => items[rng.int(items.length)]!;
  const intro = [fill(pick(VERBOSE_RESTATE), slots), fill(pick(VERBOSE_PLAN), slots)];
  const start = records[0]?.kind === 'start' ? records[0] : null;
  if (start) intro.push(fill(pick(VERBOSE_START), { ...slots, v: start.v }));
  return records
    .filter((r) => r.kind !== 'start')
    .map((record, i) => {
      const text =
        record.kind === 'product'
          ? fill(pick(VERBOSE_PRODUCT), { ...slots, a: record.a, b: record.b, v: record.v })
          : fill(pick(VERBOSE_STEPS[record.kind]), { ...slots, v: record.v, k: record.k, r: record.r });
      const before = i === 0 ? intro : [fill(pick(VERBOSE_FILLER), slots)];
      return [...before, text].filter(Boolean).join(' ');
    });
}
