import { tf } from '../tf.js';
import type { Example } from '../contracts/dataset.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import {
  directLayout,
  encodeExample,
  layout,
  padBatch,
  SEGMENT,
  teacherLayout,
  type EncodeOptions,
  type ReasoningTokens,
  type SequenceLayout,
} from '../data/sequences.js';
import type { StudentBatch } from '../latent/rollout.js';

type Tensor = tf.Tensor;

/** Which passes a step runs: decided by the method and the loss weights. */
export interface BatchPlan {
  /** Teacher sequence: the full trace, or `direct` (No-CoT) without the CoT. */
  teacher: 'trace' | 'direct' | null;
  student: boolean;
  /** Latent slots M (student). */
  latents: number;
  /**
   * Latents that run in the student's final pass together with the answer segment: all M for
   * Jacobi, the last one for autoregressive rollouts (the others are already in the cache).
   * Targets and the CODI anchor index into that pass.
   */
  finalLatents: number;
  /** Teacher query rows the scorer needs. */
  answerQueries: boolean;
  /** Last-α CoT query rows the scorer needs (0 = none). */
  window: number;
}

/** The tensors of one micro-batch. Every tensor is owned by the batch (dispose()). */
export interface TrainBatch {
  size: number;
  /** Real tokens the passes process (for tokens/s). */
  tokens: number;
  teacher?: {
    ids: Tensor;
    mask: Tensor;
    targets: Tensor;
    targetMask: Tensor;
    /** [B] index of the ":" of "The answer is:" (CODI anchor). */
    anchor: Tensor;
    /** [B, N] CoT token positions (clamped) and validity. */
    cotPositions: Tensor;
    cotMask: Tensor;
    /** [B, Q] query rows to expose (answer segment, then the last-α CoT window) and their masks. */
    rows?: Tensor;
    answerRows: number;
    answerRowMask?: Tensor;
    windowRowMask?: Tensor;
  };
  student?: StudentBatch & {
    /** [B, F + A] next-token targets of the final pass (F = finalLatents) and their mask (answer and <eos>). */
    targets: Tensor;
    targetMask: Tensor;
    /** [B] index into the final pass of the ":" before the answer. */
    anchor: Tensor;
  };
  dispose(): void;
}

const TEACHER_TARGETS: ReadonlySet<number> = new Set([
  SEGMENT.cot,
  SEGMENT.eot,
  SEGMENT.prefix,
  SEGMENT.answer,
  SEGMENT.eos,
]);
const ANSWER_TARGETS: ReadonlySet<number> = new Set([SEGMENT.answer, SEGMENT.eos]);

/** Next-token targets of a right-padded batch: target[s] = id[s+1] where segment[s+1] is wanted. */
function nextTokenTargets(
  ids: Int32Array,
  segments: Int32Array,
  B: number,
  S: number,
  wanted: ReadonlySet<number>,
  offset = 0,
  width = S,
) {
  const targets = new Int32Array(B * width);
  const mask = new Float32Array(B * width);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s + 1 < S; s++) {
      if (!wanted.has(segments[b * S + s + 1]!)) continue;
      targets[b * width + offset + s] = ids[b * S + s + 1]!;
      mask[b * width + offset + s] = 1;
    }
  }
  return { targets, mask };
}

/**
 * Builds the tensors of a micro-batch: the teacher sequence `Q <bot> C <eot> "The answer is:" A <eos>`
 * (or `Q "The answer is:" A <eos>` for No-CoT) and the student's prompt `Q <bot>` and segment
 * `<eot> "The answer is:" A <eos>`, right-padded, with targets, anchors and the CoT region.
 */
export function buildBatch(
  examples: readonly Example[],
  tokenizer: Tokenizer,
  tokens: ReasoningTokens,
  plan: BatchPlan,
  encode: EncodeOptions,
): TrainBatch {
  const encoded = examples.map((e) => encodeExample(tokenizer, e, encode));
  const B = examples.length;
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T) => (owned.push(t), t);
  const batch: TrainBatch = { size: B, tokens: 0, dispose: () => tf.dispose(owned) };
  const pad = tokenizer.padId;

  if (plan.teacher) {
    const layouts: SequenceLayout[] = encoded.map((e) =>
      plan.teacher === 'trace' ? teacherLayout(e, tokens, tokenizer.eosId) : directLayout(e, tokenizer.eosId),
    );
    const p = padBatch(layouts, pad, 'right');
    const S = p.length;
    const wanted = plan.teacher === 'trace' ? TEACHER_TARGETS : ANSWER_TARGETS;
    const { targets, mask } = nextTokenTargets(p.ids, p.segments, B, S, wanted);
    const anchor = layouts.map((l) => l.spans.prefix![1] - 1);
    const cots = layouts.map((l) => l.spans.cot ?? [l.spans.bot?.[1] ?? 0, l.spans.bot?.[1] ?? 0]);
    const N = Math.max(1, ...cots.map(([s, e]) => e - s));
    const cotPositions = new Int32Array(B * N);
    const cotMask = new Float32Array(B * N);
    cots.forEach(([s, e], b) => {
      for (let i = 0; i < N; i++) {
        cotPositions[b * N + i] = Math.min(s + i, Math.max(s, e - 1));
        cotMask[b * N + i] = i < e - s ? 1 : 0;
      }
    });
    const teacher: TrainBatch['teacher'] = {
      ids: own(tf.tensor2d(p.ids, [B, S], 'int32')),
      mask: own(tf.tensor2d(p.mask, [B, S], 'int32')),
      targets: own(tf.tensor2d(targets, [B, S], 'int32')),
      targetMask: own(tf.tensor2d(mask, [B, S])),
      anchor: own(tf.tensor1d(anchor, 'int32')),
      cotPositions: own(tf.tensor2d(cotPositions, [B, N], 'int32')),
      cotMask: own(tf.tensor2d(cotMask, [B, N])),
      answerRows: 0,
    };
    if (plan.answerQueries || plan.window > 0) {
      const answerSpans = layouts.map((l) => [l.spans.prefix![0], l.spans.eos![1]] as const);
      const Qa = plan.answerQueries ? Math.max(...answerSpans.map(([s, e]) => e - s)) : 0;
      const W = plan.window;
      const rows = new Int32Array(B * (Qa + W));
      const aMask = new Float32Array(B * Qa);
      const wMask = new Float32Array(B * W);
      layouts.forEach((l, b) => {
        const [as, ae] = answerSpans[b]!;
        for (let i = 0; i < Qa; i++) {
          rows[b * (Qa + W) + i] = Math.min(as + i, ae - 1);
          aMask[b * Qa + i] = i < ae - as ? 1 : 0;
        }
        const [cs, ce] = cots[b]!;
        for (let i = 0; i < W; i++) {
          const pos = ce - W + i; // the last W CoT tokens, oldest first
          rows[b * (Qa + W) + Qa + i] = Math.max(pos, cs, 0);
          wMask[b * W + i] = pos >= cs && ce > cs ? 1 : 0;
        }
      });
      teacher.rows = own(tf.tensor2d(rows, [B, Qa + W], 'int32'));
      teacher.answerRows = Qa;
      if (Qa > 0) teacher.answerRowMask = own(tf.tensor2d(aMask, [B, Qa]));
      if (W > 0) teacher.windowRowMask = own(tf.tensor2d(wMask, [B, W]));
    }
    batch.teacher = teacher;
    batch.tokens += p.lengths.reduce((a, b) => a + b, 0);
  }

  if (plan.student) {
    const M = plan.finalLatents;
    const prefixes = encoded.map((e) =>
      layout([
        ['question', e.question],
        ['bot', [tokens.botId]],
      ]),
    );
    const segments = encoded.map((e) =>
      layout([
        ['eot', [tokens.eotId]],
        ['prefix', e.prefix],
        ['answer', e.answer],
        ['eos', [tokenizer.eosId]],
      ]),
    );
    const pp = padBatch(prefixes, pad, 'right');
    const sp = padBatch(segments, pad, 'right');
    const A = sp.length;
    const { targets, mask } = nextTokenTargets(sp.ids, sp.segments, B, A, ANSWER_TARGETS, M, M + A);
    batch.student = {
      prefixIds: own(tf.tensor2d(pp.ids, [B, pp.length], 'int32')),
      prefixMask: own(tf.tensor2d(pp.mask, [B, pp.length], 'int32')),
      prefixLast: own(
        tf.tensor1d(
          pp.lengths.map((n) => n - 1),
          'int32',
        ),
      ),
      segmentIds: own(tf.tensor2d(sp.ids, [B, A], 'int32')),
      segmentMask: own(tf.tensor2d(sp.mask, [B, A], 'int32')),
      targets: own(tf.tensor2d(targets, [B, M + A], 'int32')),
      targetMask: own(tf.tensor2d(mask, [B, M + A])),
      anchor: own(
        tf.tensor1d(
          segments.map((s) => M + s.spans.prefix![1] - 1),
          'int32',
        ),
      ),
    };
    batch.tokens += pp.lengths.reduce((a, b) => a + b, 0) + sp.lengths.reduce((a, b) => a + b, 0) + B * plan.latents;
  }
  return batch;
}
