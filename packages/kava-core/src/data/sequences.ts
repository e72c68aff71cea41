import type { Example } from '../contracts/dataset.js';
import type { Tokenizer } from '../contracts/tokenizer.js';

/**
 * Token layouts of the KaVa sequences (KAVA-METHOD.md §1), shared by the trainer and the
 * evaluator so that training and inference see exactly the same tokens:
 *
 *   teacher  Q <bot> C <eot> "The answer is:" A <eos>
 *   student  Q <bot> z_1..z_M <eot> "The answer is:" A <eos>   (z = latent slots)
 *   direct   Q "The answer is:" A <eos>                        (No-CoT)
 *
 * Each piece is encoded on its own (question, CoT, answer prefix, " " + answer) and the pieces
 * are concatenated as ids, so a prompt built for decoding is a prefix of the training sequence.
 */
export const BOT_TOKEN = '<bot>';
export const EOT_TOKEN = '<eot>';
export const ANSWER_PREFIX = 'The answer is:';

/** Segment codes, one per position of a layout. */
export const SEGMENT = {
  question: 0,
  bot: 1,
  cot: 2,
  eot: 3,
  prefix: 4,
  answer: 5,
  eos: 6,
  latent: 7,
  pad: 8,
} as const;
export type SegmentName = keyof typeof SEGMENT;

/** The ids of the reasoning delimiters in a tokenizer. */
export interface ReasoningTokens {
  botId: number;
  eotId: number;
}

/** Adds `<bot>` and `<eot>` to the tokenizer (keeping existing ids); grow the embeddings to `vocabSize` after. */
export function addReasoningTokens(tokenizer: Tokenizer): ReasoningTokens {
  const [botId, eotId] = tokenizer.addSpecialTokens([BOT_TOKEN, EOT_TOKEN]) as [number, number];
  return { botId, eotId };
}

export interface EncodeOptions {
  /** Question tokens kept (the end of the question is kept; BOS stays first). Default unlimited. */
  maxQuestionTokens?: number;
  /** CoT tokens kept (the beginning). Default unlimited. */
  maxCotTokens?: number;
  /** Answer tokens kept (the beginning). Default unlimited. */
  maxAnswerTokens?: number;
  /** Drop the last CoT step when there are at least two (CODI/PCCoT default). Default true. */
  dropLastStep?: boolean;
  /** Prepend BOS when the tokenizer has one. Default true. */
  addBos?: boolean;
}

/** The separately encoded pieces of one example. */
export interface EncodedExample {
  question: number[];
  cot: number[];
  prefix: number[];
  answer: number[];
}

/** The CoT text of an example's steps as the teacher reads it (steps joined by spaces). */
export function cotText(steps: readonly string[], dropLastStep = true): string {
  const kept = dropLastStep && steps.length > 1 ? steps.slice(0, -1) : steps;
  return kept.join(' ');
}

/** The question's tokens and how many of them fit (maxQuestionTokens, less the BOS). */
function questionTokens(tokenizer: Tokenizer, question: string, options: EncodeOptions) {
  const addBos = (options.addBos ?? true) && tokenizer.bosId !== undefined;
  const ids = tokenizer.encode(question);
  const max = options.maxQuestionTokens;
  const room = max === undefined ? ids.length : Math.max(0, Math.min(ids.length, max - (addBos ? 1 : 0)));
  return { addBos, ids, room };
}

/** Encodes the question alone (with BOS when asked), keeping its end when truncated. */
export function encodeQuestion(tokenizer: Tokenizer, question: string, options: EncodeOptions = {}): number[] {
  const { addBos, ids, room } = questionTokens(tokenizer, question, options);
  const kept = ids.slice(ids.length - room);
  return addBos ? [tokenizer.bosId!, ...kept] : kept;
}

/** How many tokens of the question encodeQuestion drops (its beginning), 0 when it fits. */
export function droppedQuestionTokens(tokenizer: Tokenizer, question: string, options: EncodeOptions = {}): number {
  const { ids, room } = questionTokens(tokenizer, question, options);
  return ids.length - room;
}

/** Encodes the pieces of an example. */
export function encodeExample(tokenizer: Tokenizer, example: Example, options: EncodeOptions = {}): EncodedExample {
  const cut = (ids: number[], max: number | undefined) => (max === undefined ? ids : ids.slice(0, max));
  const cot = cotText(example.steps, options.dropLastStep ?? true);
  return {
    question: encodeQuestion(tokenizer, example.question, options),
    cot: cot === '' ? [] : cut(tokenizer.encode(cot), options.maxCotTokens),
    prefix: tokenizer.encode(ANSWER_PREFIX),
    answer: cut(tokenizer.encode(` ${example.answer}`), options.maxAnswerTokens),
  };
}

/** A token sequence with a segment code per position and where each segment lies. */
export interface SequenceLayout {
  ids: number[];
  segments: number[];
  /** [start, end) of each segment present. */
  spans: Partial<Record<SegmentName, [number, number]>>;
}

/** Builds a layout from (segment, ids) pieces in order. */
export function layout(pieces: readonly [SegmentName, readonly number[]][]): SequenceLayout {
  const out: SequenceLayout = { ids: [], segments: [], spans: {} };
  for (const [name, ids] of pieces) {
    const start = out.ids.length;
    out.ids.push(...ids);
    for (let i = 0; i < ids.length; i++) out.segments.push(SEGMENT[name]);
    const span = out.spans[name];
    out.spans[name] = span ? [span[0], out.ids.length] : [start, out.ids.length];
  }
  return out;
}

/** Teacher: `Q <bot> C <eot> "The answer is:" A <eos>`. */
export function teacherLayout(e: EncodedExample, t: ReasoningTokens, eosId: number): SequenceLayout {
  return layout([
    ['question', e.question],
    ['bot', [t.botId]],
    ['cot', e.cot],
    ['eot', [t.eotId]],
    ['prefix', e.prefix],
    ['answer', e.answer],
    ['eos', [eosId]],
  ]);
}

/**
 * Student: `Q <bot> z_1..z_M <eot> "The answer is:" A <eos>`. The M latent slots hold
 * `placeholderId` (their inputs are embeddings, not tokens); their segment is `latent`.
 */
export function studentLayout(
  e: EncodedExample,
  t: ReasoningTokens,
  eosId: number,
  latents: number,
  placeholderId: number,
): SequenceLayout {
  return layout([
    ['question', e.question],
    ['bot', [t.botId]],
    ['latent', new Array<number>(latents).fill(placeholderId)],
    ['eot', [t.eotId]],
    ['prefix', e.prefix],
    ['answer', e.answer],
    ['eos', [eosId]],
  ]);
}

/** Direct (No-CoT): `Q "The answer is:" A <eos>`. */
export function directLayout(e: EncodedExample, eosId: number): SequenceLayout {
  return layout([
    ['question', e.question],
    ['prefix', e.prefix],
    ['answer', e.answer],
    ['eos', [eosId]],
  ]);
}

/** The prompt a mode decodes from: `Q <bot>` (cot, latent) or `Q "The answer is:"` (direct). */
export function promptLayout(
  mode: 'cot' | 'latent' | 'direct',
  question: readonly number[],
  prefix: readonly number[],
  t: ReasoningTokens | undefined,
): SequenceLayout {
  if (mode === 'direct')
    return layout([
      ['question', question],
      ['prefix', prefix],
    ]);
  if (!t) throw new Error(`${mode} prompts need the <bot>/<eot> token ids`);
  return layout([
    ['question', question],
    ['bot', [t.botId]],
  ]);
}

/** Layouts padded to one length, as flat row-major [B, S] arrays. */
export interface PaddedBatch {
  batch: number;
  length: number;
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  mask: Int32Array;
  /** RoPE positions: 0.. over each row's real tokens; padding gets 0. */
  positions: Int32Array;
  /** SEGMENT codes; padding is SEGMENT.pad. */
  segments: Int32Array;
  /** Per row, the index of its first real token (left padding) or 0 (right padding). */
  offsets: number[];
  /** Per row, its number of real tokens. */
  lengths: number[];
}

/**
 * Pads layouts (or bare id lists) to a common length with `padId`: `right` for training
 * (targets line up from position 0), `left` for decoding (every row's last token is the last column).
 * `startPositions[b]` shifts row b's positions (continuing after a cached prefix).
 */
export function padBatch(
  rows: readonly (SequenceLayout | readonly number[])[],
  padId: number,
  side: 'left' | 'right',
  startPositions?: readonly number[],
): PaddedBatch {
  const layouts = rows.map((r) =>
    'ids' in r ? r : { ids: [...r], segments: new Array<number>(r.length).fill(SEGMENT.question), spans: {} },
  );
  const batch = layouts.length;
  const length = Math.max(0, ...layouts.map((l) => l.ids.length));
  const out: PaddedBatch = {
    batch,
    length,
    ids: new Int32Array(batch * length).fill(padId),
    mask: new Int32Array(batch * length),
    positions: new Int32Array(batch * length),
    segments: new Int32Array(batch * length).fill(SEGMENT.pad),
    offsets: [],
    lengths: [],
  };
  layouts.forEach((l, b) => {
    const n = l.ids.length;
    const offset = side === 'left' ? length - n : 0;
    const start = startPositions?.[b] ?? 0;
    for (let i = 0; i < n; i++) {
      const at = b * length + offset + i;
      out.ids[at] = l.ids[i]!;
      out.mask[at] = 1;
      out.positions[at] = start + i;
      out.segments[at] = l.segments[i]!;
    }
    if (side === 'left') for (let i = 0; i < offset; i++) out.positions[b * length + i] = start;
    out.offsets.push(offset);
    out.lengths.push(n);
  });
  return out;
}
