import {
  addReasoningTokens,
  ANSWER_PREFIX,
  createWordLevelTokenizer,
  directLayout,
  encodeExample,
  padBatch,
  promptLayout,
  SEGMENT,
  studentLayout,
  teacherLayout,
  type Example,
} from '@kava/core/internal';

const WORDS = [
  'Tom',
  'has',
  '3',
  'boxes',
  'of',
  '4',
  'pens',
  '.',
  'How',
  'many',
  '?',
  '<<',
  '>>',
  '*',
  '=',
  '12',
  '-',
  '5',
  '7',
  'The',
  'answer',
  'is',
  ':',
];
const tokenizer = createWordLevelTokenizer(WORDS); // pad 0, unk 1, eos 2, words from 3
const tokens = addReasoningTokens(tokenizer);
const id = (w: string) => tokenizer.tokenToId(w)!;
const example: Example = {
  id: 'x',
  question: 'Tom has 3 boxes of 4 pens. How many?',
  steps: ['<<3*4=12>>', '<<12-5=7>>'],
  answer: '7',
};

describe('sequence layouts (KAVA-METHOD §1)', () => {
  it('adds <bot>/<eot> after the vocabulary', () => {
    expect(tokens).toEqual({ botId: WORDS.length + 3, eotId: WORDS.length + 4 });
    expect(addReasoningTokens(tokenizer)).toEqual(tokens);
  });

  const Q = ['Tom', 'has', '3', 'boxes', 'of', '4', 'pens', '.', 'How', 'many', '?'].map(id);
  const C = ['<<', '3', '*', '4', '=', '12', '>>'].map(id); // last step dropped
  const P = ['The', 'answer', 'is', ':'].map(id);

  it('teacher: Q <bot> C <eot> "The answer is:" A <eos>, last step dropped, segments and spans', () => {
    const enc = encodeExample(tokenizer, example);
    const t = teacherLayout(enc, tokens, tokenizer.eosId);
    expect(t.ids).toEqual([...Q, tokens.botId, ...C, tokens.eotId, ...P, id('7'), tokenizer.eosId]);
    expect(t.spans).toEqual({
      question: [0, 11],
      bot: [11, 12],
      cot: [12, 19],
      eot: [19, 20],
      prefix: [20, 24],
      answer: [24, 25],
      eos: [25, 26],
    });
    expect(t.segments.slice(10, 13)).toEqual([SEGMENT.question, SEGMENT.bot, SEGMENT.cot]);
    expect(tokenizer.decode(tokenizer.encode(ANSWER_PREFIX))).toBe('The answer is :');
  });

  it('keeps every step with dropLastStep false, and a single step even with it', () => {
    const all = encodeExample(tokenizer, example, { dropLastStep: false });
    expect(all.cot).toHaveLength(14);
    expect(encodeExample(tokenizer, { ...example, steps: ['<<3*4=12>>'] }).cot).toEqual(C);
  });

  it('student has M latent slots where the teacher has C; direct has no <bot>/<eot>', () => {
    const enc = encodeExample(tokenizer, example);
    const s = studentLayout(enc, tokens, tokenizer.eosId, 3, tokenizer.padId);
    expect(s.ids).toEqual([...Q, tokens.botId, 0, 0, 0, tokens.eotId, ...P, id('7'), tokenizer.eosId]);
    expect(s.spans.latent).toEqual([12, 15]);
    expect(directLayout(enc, tokenizer.eosId).ids).toEqual([...Q, ...P, id('7'), tokenizer.eosId]);
    expect(promptLayout('cot', enc.question, enc.prefix, tokens).ids).toEqual([...Q, tokens.botId]);
    expect(promptLayout('direct', enc.question, enc.prefix, tokens).ids).toEqual([...Q, ...P]);
  });

  it('truncates: the question keeps its end, CoT and answer their beginning', () => {
    const enc = encodeExample(tokenizer, example, { maxQuestionTokens: 3, maxCotTokens: 2, maxAnswerTokens: 1 });
    expect(enc.question).toEqual(['How', 'many', '?'].map(id));
    expect(enc.cot).toEqual(['<<', '3'].map(id));
  });

  it('pads right for training and left for decoding, positions counting real tokens only', () => {
    const right = padBatch([[5, 6, 7], [8]], 0, 'right');
    expect(Array.from(right.ids)).toEqual([5, 6, 7, 8, 0, 0]);
    expect(Array.from(right.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(right.positions)).toEqual([0, 1, 2, 0, 0, 0]);
    const left = padBatch([[5, 6, 7], [8]], 0, 'left', [10, 4]);
    expect(Array.from(left.ids)).toEqual([5, 6, 7, 0, 0, 8]);
    expect(Array.from(left.mask)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(Array.from(left.positions)).toEqual([10, 11, 12, 4, 4, 4]);
    expect(left.offsets).toEqual([0, 2]);
    expect(Array.from(left.segments)).toEqual([0, 0, 0, SEGMENT.pad, SEGMENT.pad, 0]);
  });
});
