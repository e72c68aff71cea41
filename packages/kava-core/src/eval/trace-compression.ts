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
  /** Seed for scorers that draw random numbers. */
  seed?: number;
}

/** What a scorer may not have while decoding: the answer does not exist yet. */
export function checkTraceBudget(budget: TraceBudget): void {
  const { scorer } = budget.compression;
  if (scorer.needs.includes('answerQueries'))
    throw new KavaError(
      `eval.kvBudget: scorer "${scorer.name}" reads the answer's queries, which do not exist while the trace is being written; choose a scorer that reads keys, values or the last tokens' queries (keydiff, knorm, recent, rkv-decoding, snapkv, h2o, tova, expected-attention; or rkv with lambda 0)`,
      { exitCode: 2 },
    );
  if (
    !Number.isInteger(budget.budget) ||
    budget.budget < 1 ||
    !Number.isInteger(budget.interval) ||
    budget.interval < 1
  )
    throw new KavaError(
      `eval.kvBudget ${budget.budget} and eval.kvInterval ${budget.interval}: both must be positive integers`,
      { exitCode: 2 },
    );
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
  input(): { windowQueries: Tensor; windowQueryMask: Tensor } | null {
    if (!this.queries) return null;
    const have = this.queries[0]!.shape[2]!;
    return tf.tidy(() => {
      const stacked = tf.stack(this.queries!, 1); // [B, L, H, have, d]
      const windowQueries =
        have < this.size
          ? tf.pad(stacked, [
              [0, 0],
              [0, 0],
              [0, 0],
              [this.size - have, 0],
              [0, 0],
            ])
          : stacked;
      return { windowQueries, windowQueryMask: tf.tensor2d(this.real, [this.rows, this.size]) };
    });
  }

  dispose(): void {
    if (this.queries) tf.dispose(this.queries);
    this.queries = null;
  }
}

/** How many of the last tokens' queries the budget's scorer reads (0: none). */
export const queryWindowSize = (budget: TraceBudget): number => windowQueryCount(budget.compression.scorer);

/**
 * The cache with its trace region (positions `from`…end) cut to `budget.budget` entries per layer
 * and KV head by the scorer and evictor; the prefix before `from` as it was. A new cache; the
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
  const queries = window?.input() ?? null;
  const input: ScorerInput = tf.tidy(() => ({
    keys: tf.stack(
      cache.keys.map((k) => tf.slice(k, [0, 0, from, 0], [-1, -1, n, -1])),
      1,
    ),
    values: tf.stack(
      cache.values.map((v) => tf.slice(v, [0, 0, from, 0], [-1, -1, n, -1])),
      1,
    ),
    mask: tf.slice(cache.mask, [0, from], [-1, n]),
    // Entries are in the order they were written, which is the order of their positions.
    positions: tf.tile(tf.range(0, n, 1, 'int32').reshape([1, n]), [B, 1]),
    groupSize,
    budget: budget.budget,
    seed: budget.seed ?? 0,
  })) as unknown as ScorerInput;
  if (queries) Object.assign(input, queries);
  try {
    const kept = compressCache(budget.compression, input);
    try {
      if (kept.headSlotMask)
        throw new KavaError(
          `eval.kvBudget: evictor "${budget.compression.evictor.name}" gives layers or heads budgets of their own; a decoding cache keeps one count per question (use the topk evictor)`,
          { exitCode: 2 },
        );
      return tf.tidy(() => ({
        keys: cache.keys.map((k, l) =>
          tf.concat(
            [tf.slice(k, [0, 0, 0, 0], [-1, -1, from, -1]), tf.squeeze(tf.slice(kept.keys, [0, l], [-1, 1]), [1])],
            2,
          ),
        ),
        values: cache.values.map((v, l) =>
          tf.concat(
            [tf.slice(v, [0, 0, 0, 0], [-1, -1, from, -1]), tf.squeeze(tf.slice(kept.values, [0, l], [-1, 1]), [1])],
            2,
          ),
        ),
        mask: tf.concat([tf.slice(cache.mask, [0, 0], [-1, from]), tf.cast(kept.slotMask, cache.mask.dtype)], 1),
        length: from + budget.budget,
      })) as unknown as KVCache;
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
    tf.dispose([input.keys, input.values, input.mask, input.positions]);
    if (queries) tf.dispose([queries.windowQueries, queries.windowQueryMask]);
  }
}
