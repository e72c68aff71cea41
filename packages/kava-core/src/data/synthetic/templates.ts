/**
 * The words of the synthetic arithmetic task: entities and the sentence templates of each
 * operation. Placeholders: {name} {friend} {items} {item} {containers} {container} {a} {b} {v}
 * {k} {r}. Every word a problem can contain comes from here or is a number, which is what lets
 * the word-level tokenizer be built from this file alone.
 */
export const NAMES = [
  'Mia',
  'Tom',
  'Ava',
  'Leo',
  'Zoe',
  'Sam',
  'Ivy',
  'Max',
  'Ella',
  'Ben',
  'Nora',
  'Jack',
  'Lily',
  'Omar',
  'Ruby',
  'Hugo',
  'Iris',
  'Noah',
  'Tara',
  'Eli',
] as const;

/** [plural, singular] */
export const ITEMS = [
  ['apples', 'apple'],
  ['marbles', 'marble'],
  ['stickers', 'sticker'],
  ['pencils', 'pencil'],
  ['cookies', 'cookie'],
  ['stamps', 'stamp'],
  ['shells', 'shell'],
  ['cards', 'card'],
  ['books', 'book'],
  ['coins', 'coin'],
  ['eggs', 'egg'],
  ['flowers', 'flower'],
  ['beads', 'bead'],
  ['toys', 'toy'],
  ['oranges', 'orange'],
  ['candles', 'candle'],
] as const;

/** [plural, singular] */
export const CONTAINERS = [
  ['boxes', 'box'],
  ['bags', 'bag'],
  ['baskets', 'basket'],
  ['jars', 'jar'],
  ['crates', 'crate'],
  ['packs', 'pack'],
  ['trays', 'tray'],
  ['buckets', 'bucket'],
] as const;

/** A first sentence that gives the starting amount directly (no step). */
export const START_PLAIN = [
  '{name} has {v} {items}.',
  '{name} starts with {v} {items}.',
  'There are {v} {items} on the table of {name}.',
  'At first {name} owns {v} {items}.',
];

/** A first sentence that needs a multiplication (one step: a * b = v). */
export const START_PRODUCT = [
  {
    text: '{name} has {a} {containers} with {b} {items} in each.',
    nl: '{a} {containers} with {b} {items} each make {v} {items}.',
  },
  {
    text: '{name} buys {a} {containers} of {items}. Each {container} holds {b} {items}.',
    nl: '{a} times {b} is {v}, so {name} has {v} {items}.',
  },
  {
    text: '{name} fills {a} {containers} and puts {b} {items} in every {container}.',
    nl: 'There are {a} {containers} of {b}, which is {v} {items}.',
  },
];

export type Operation = '+' | '-' | '*' | '/';

/** Sentences that change the amount v by k into r, with the natural-language step for each. */
export const STEPS: Record<Operation, { text: string; nl: string }[]> = {
  '+': [
    { text: '{name} buys {k} more {items}.', nl: '{v} {items} plus {k} more is {r} {items}.' },
    { text: '{friend} gives {name} {k} {items}.', nl: 'After getting {k} from {friend}, {name} has {r} {items}.' },
    { text: 'Then {name} finds {k} more {items}.', nl: 'Adding {k} to {v} gives {r}.' },
  ],
  '-': [
    { text: '{name} gives {k} {items} to {friend}.', nl: '{v} minus {k} leaves {r} {items}.' },
    { text: '{name} loses {k} {items}.', nl: 'After losing {k}, {name} has {r} {items}.' },
    { text: 'Then {name} sells {k} of the {items}.', nl: 'Taking {k} away from {v} gives {r}.' },
  ],
  '*': [
    { text: '{name} then gets {k} times as many {items}.', nl: '{v} times {k} is {r} {items}.' },
    { text: 'Next, the number of {items} grows {k} times.', nl: '{k} times {v} makes {r}.' },
  ],
  '/': [
    {
      text: '{name} splits the {items} equally into {k} {containers} and keeps one {container}.',
      nl: '{v} divided by {k} is {r} {items}.',
    },
    {
      text: '{name} shares the {items} equally with {friend} among {k} people and keeps one share.',
      nl: 'Each of the {k} shares has {r} {items}, so {name} keeps {r}.',
    },
  ],
};

export const QUESTIONS = [
  'How many {items} does {name} have now?',
  'How many {items} does {name} have in the end?',
  'How many {items} are left for {name}?',
];

/** Every template text, for building the vocabulary. */
export function allTemplateTexts(): string[] {
  const steps = Object.values(STEPS).flat();
  return [
    ...START_PLAIN,
    ...START_PRODUCT.flatMap((t) => [t.text, t.nl]),
    ...steps.flatMap((t) => [t.text, t.nl]),
    ...QUESTIONS,
  ];
}
