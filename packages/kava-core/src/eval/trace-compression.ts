import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { KVCache } from '../contracts/backbone.js';
import type { ScorerInput } from '../contracts/scorer.js';
import { compressCache, type Compression } from '../compression/compress.js';
import { windowQueryCount } from '../compression/scorer-input.js';

type Tensor = tf.Tensor;

/**
 * A KV budget while the model writes its chain of thought, as R-KV runs for reasoning models: the
 * cache of the trace grows to `budget + interval` entries, then the configured scorer and evictor
 * cut it back to `budget` per layer and KV head; the question before the trace is never touched.
 * Kept entries keep their keys as cached (rotated at their own positions) and their order, and
 * new tokens take their positions from the tokens written, so attention stays what it was over
 * the entries that remain.
 */
export interface TraceBudget {
  compression: Compression;
  /** Entries per layer and KV head the trace is cut back to (N). */
  budget: number;
  /** Trace tokens written between two compressions (W). */
  interval: number;
  /**
   * For scorers that read the answer's queries, which do not exist yet while the trace is written:
   * the queries of this many last trace tokens stand in for them (R-KV's observation window while
   * decoding). Default 8.
   */
  answerWindow?: number;
  /** Seed for scorers that draw random numbers. */
  seed?: number;
}

const DEFAULT_ANSWER_WINDOW = 8;

/** Checks the budget's counts (the schema does for a config; a caller building one by hand gets the same). */
export function checkTraceBudget(budget: TraceBudget): void {
  const counts = { kvBudget: budget.budget, kvInterval: budget.interval, kvQueryWindow: budget.answerWindow ?? 1 };
  for (const [key, value] of Object.entries(counts))
    if (!Number.isInteger(value) || value < 1)
      throw new KavaError(`eval.${key}: expected a positive integer, got ${value}`, { exitCode: 2 });
}

/** The last α queries of the trace per layer ([B, H, α, d]) and which are real, for scorers that read them. */
export class QueryWindow {
  private queries: Tensor[] | null = null;
  private real: number[][];

  constructor(
    readonly size: number,
    private readonly rows: number,
  ) {
    this.real = Array.from({ length: rows }, () => new Array<number>(size).fill(0));
  }

  /** Appends one pass's queries ([B, H, 1, d] per layer); `fed[b]` says whether row b wrote a token. */
  push(queries: readonly Tensor[], fed: readonly boolean[]): void {
    const next = queries.map((q, l) =>
      tf.tidy(() => {
        const joined = this.queries ? tf.concat([this.queries[l]!, q], 2) : q.clone();
        const t = joined.shape[2]!;
        return t > this.size ? tf.slice(joined, [0, 0, t - this.size, 0], [-1, -1, this.size, -1]) : joined;
      }),
    );
    if (this.queries) tf.dispose(this.queries);
    this.queries = next;
    this.real = this.real.map((row, b) => [...row.slice(1), fed[b] ? 1 : 0]);
  }

  /** [B, L, H, α, d] and [B, α] (older slots not yet written are zeros with mask 0). */
  input(): { queries: Tensor; mask: Tensor } | null {
    if (!this.queries) return null;
    const have = this.queries[0]!.shape[2]!;
    return tf.tidy(() => {
      const stacked = tf.stack(this.queries!, 1); // [B, L, H, have, d]
      const padded =
        have < this.size
          ? tf.pad(stacked, [
              [0, 0],
              [0, 0],
              [0, 0],
              [this.size - have, 0],
              [0, 0],
            ])
          : stacked;
      return { queries: padded, mask: tf.tensor2d(this.real, [this.rows, this.size]) };
    });
  }

  dispose(): void {
    if (this.queries) tf.dispose(this.queries);
    this.queries = null;
  }
}

/** How many of the last tokens' queries the scorer reads as its window (α; 0: none). */
const windowSize = (budget: TraceBudget): number => windowQueryCount(budget.compression.scorer);

/** How many of the last tokens' queries stand in for the answer's (0: the scorer reads none). */
const answerSize = (budget: TraceBudget): number =>
  budget.compression.scorer.needs.includes('answerQueries') ? (budget.answerWindow ?? DEFAULT_ANSWER_WINDOW) : 0;

/** How many of the last tokens' queries to keep for the budget's scorer (0: none). */
export const queryWindowSize = (budget: TraceBudget): number => Math.max(windowSize(budget), answerSize(budget));

/**
 * The scorer input's query parts from the last tokens' queries (call inside tf.tidy): its window,
 * and the answer's stand-in, each the tail of one window of queryWindowSize.
 */
function queryParts(budget: TraceBudget, window: QueryWindow | null): Partial<ScorerInput> {
  const all = window?.input();
  if (!all) return {};
  const size = all.mask.shape[1]!;
  const tail = (count: number) => ({
    queries: tf.slice(all.queries, [0, 0, 0, size - count, 0], [-1, -1, -1, count, -1]),
    mask: tf.slice(all.mask, [0, size - count], [-1, count]),
  });
  const parts: Partial<ScorerInput> = {};
  const alpha = windowSize(budget);
  const answer = answerSize(budget);
  if (alpha > 0) {
    const { queries, mask } = tail(alpha);
    Object.assign(parts, { windowQueries: queries, windowQueryMask: mask });
  }
  if (answer > 0) {
    const { queries, mask } = tail(answer);
    Object.assign(parts, { answerQueries: queries, answerQueryMask: mask });
  }
  return parts;
}

/**
 * The cache with its trace region (positions `from`…end) cut to `budget.budget` entries per layer
 * and KV head by the scorer and evictor; the prefix before `from` as it was. An evictor that gives
 * layers or heads budgets of their own (pyramid, adakv) leaves a cache whose heads hold different
 * entries (`headMask`), which the next compression and the decoder honour. A new cache; the
 * caller disposes the old one.
 */
export function compressTrace(
  cache: KVCache,
  from: number,
  budget: TraceBudget,
  groupSize: number,
  window: QueryWindow | null,
): KVCache {
  const n = cache.length - from;
  const B = cache.mask.shape[0]!;
  const trace = (t: Tensor) => tf.slice(t, [0, 0, from, 0], [-1, -1, n, -1]);
  const prefix = (t: Tensor) => tf.slice(t, [0, 0, 0, 0], [-1, -1, from, -1]);
  const input: ScorerInput = tf.tidy(() => ({
    keys: tf.stack(cache.keys.map(trace), 1),
    values: tf.stack(cache.values.map(trace), 1),
    mask: tf.slice(cache.mask, [0, from], [-1, n]),
    ...(cache.headMask
      ? {
          headMask: tf.stack(
            cache.headMask.map((m) => tf.slice(m, [0, 0, from], [-1, -1, n])),
            1,
          ),
        }
      : {}),
    // Entries are in the order they were written, which is the order of their positions.
    positions: tf.tile(tf.range(0, n, 1, 'int32').reshape([1, n]), [B, 1]),
    groupSize,
    budget: budget.budget,
    seed: budget.seed ?? 0,
    ...queryParts(budget, window),
  })) as unknown as ScorerInput;
  try {
    const kept = compressCache(budget.compression, input);
    try {
      return tf.tidy(() => {
        const layer = (t: Tensor, l: number) => tf.squeeze(tf.slice(t, [0, l], [-1, 1]), [1]);
        const heads = kept.headSlotMask;
        // Each head keeps the prefix it held (all of the mask's when the heads held the same).
        const prefixHeld = (l: number): Tensor =>
          cache.headMask
            ? tf.slice(cache.headMask[l]!, [0, 0, 0], [-1, -1, from])
            : tf.tile(tf.reshape(tf.slice(tf.cast(cache.mask, 'float32'), [0, 0], [-1, from]), [B, 1, from]), [
                1,
                cache.keys[0]!.shape[1]!,
                1,
              ]);
        return {
          keys: cache.keys.map((k, l) => tf.concat([prefix(k), layer(kept.keys, l)], 2)),
          values: cache.values.map((v, l) => tf.concat([prefix(v), layer(kept.values, l)], 2)),
          mask: tf.concat([tf.slice(cache.mask, [0, 0], [-1, from]), tf.cast(kept.slotMask, cache.mask.dtype)], 1),
          ...(heads ? { headMask: cache.keys.map((_, l) => tf.concat([prefixHeld(l), layer(heads, l)], 2)) } : {}),
          length: from + budget.budget,
        };
      }) as unknown as KVCache;
    } finally {
      tf.dispose([
        kept.keys,
        kept.values,
        kept.indices,
        kept.slotMask,
        ...(kept.headSlotMask ? [kept.headSlotMask] : []),
      ]);
    }
  } finally {
    tf.dispose(
      [
        input.keys,
        input.values,
        input.mask,
        input.positions,
        input.headMask,
        input.windowQueries,
        input.windowQueryMask,
        input.answerQueries,
        input.answerQueryMask,
      ].filter((t): t is Tensor => t !== undefined),
    );
  }
}
