import { tf } from '../tf.js';
import type { Backbone, ForwardRequest, ForwardResult, KVCache } from '../contracts/backbone.js';
import { padBatch } from '../data/sequences.js';
import { cacheTensors, disposeCache } from '../model/decoder.js';
import {
  QueryWindow,
  checkTraceBudget,
  compressTrace,
  queryWindowSize,
  type TraceBudget,
} from './trace-compression.js';

/** Bytes of logits above which a chunk's last column is run as its own pass (keeps [B, S, V] small). */
export const DEFAULT_LOGITS_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * A batch of rows decoded together over one KV cache. Each `feed` appends a chunk of tokens per
 * row (left-padded to a common width, padding masked out, RoPE positions continuing each row's
 * own count) in one forward pass over the new tokens only, and returns each row's greedy next
 * token. Nothing already cached is ever recomputed.
 */
export class CachedBatch {
  private cache: KVCache | undefined;
  /** Real tokens cached per row (also the RoPE position of the row's next token). */
  readonly held: number[];
  /** Forward passes each row took part in (a row with an empty chunk does not). */
  readonly passes: number[];
  /** Forward calls made for the whole batch. */
  forwardCalls = 0;
  /** Most real entries each row's cache held at once (tracked while a trace budget is on). */
  readonly peak: number[];
  /** The trace budget in force: where the trace starts in the cache, and the last queries. */
  private trace: { from: number; budget: TraceBudget; window: QueryWindow | null } | null = null;

  constructor(
    private readonly backbone: Backbone,
    private readonly padId: number,
    readonly size: number,
    private readonly logitsBudgetBytes = DEFAULT_LOGITS_BUDGET_BYTES,
  ) {
    this.held = new Array<number>(size).fill(0);
    this.passes = new Array<number>(size).fill(0);
    this.peak = new Array<number>(size).fill(0);
  }

  /**
   * From now on the tokens fed are a trace under `budget` (eval.kvBudget): each time its cache
   * reaches budget + interval entries it is cut back to budget per layer and KV head.
   */
  startTraceBudget(budget: TraceBudget): void {
    checkTraceBudget(budget);
    const size = queryWindowSize(budget);
    this.trace = { from: this.cacheLength, budget, window: size > 0 ? new QueryWindow(size, this.size) : null };
    this.recordPeak();
  }

  /** Ends the trace budget (what follows the trace is cached in full). */
  stopTraceBudget(): void {
    this.trace?.window?.dispose();
    this.trace = null;
  }

  /** Real (unpadded) entries each row's cache holds now, per layer and KV head (the mean when heads differ). */
  cachedEntries(): number[] {
    if (!this.cache) return new Array<number>(this.size).fill(0);
    const { mask, headMask } = this.cache;
    const counts = tf.tidy(() =>
      headMask
        ? tf.div(
            tf.addN(headMask.map((m) => tf.sum(tf.mul(m, tf.expandDims(mask, 1)), [1, 2]))),
            headMask.length * headMask[0]!.shape[1]!,
          )
        : tf.sum(mask, 1),
    );
    try {
      return Array.from(counts.dataSync() as Float32Array, (v) => Math.round(v));
    } finally {
      counts.dispose();
    }
  }

  private recordPeak(): void {
    this.cachedEntries().forEach((n, b) => (this.peak[b] = Math.max(this.peak[b]!, n)));
  }

  /**
   * Appends `chunks[b]` to row b (empty: the row only receives masked padding) and returns each
   * row's argmax next token after its chunk (-1 for rows with an empty chunk).
   */
  feed(chunks: readonly (readonly number[])[]): number[] {
    if (chunks.length !== this.size) throw new Error(`CachedBatch.feed: ${chunks.length} chunks for ${this.size} rows`);
    const width = Math.max(0, ...chunks.map((c) => c.length));
    if (width === 0) return chunks.map(() => -1);
    const vocab = this.backbone.config.vocabSize;
    // Only the last column's logits are needed: when [B, S, V] would be large, run the rest of the
    // chunk without logits first (one more pass, counted; the Backbone contract has no last-only logits).
    if (width > 1 && this.size * width * vocab * 4 > this.logitsBudgetBytes) {
      const heads = chunks.map((c) => (c.length === width ? c.slice(0, -1) : c));
      const tails = chunks.map((c) => (c.length === width ? [c[c.length - 1]!] : []));
      this.run(heads, false);
      return this.run(tails, true);
    }
    return this.run(chunks, true);
  }

  private run(chunks: readonly (readonly number[])[], logits: boolean): number[] {
    const padded = padBatch(chunks, this.padId, 'left', this.held);
    const shape: [number, number] = [padded.batch, padded.length];
    const inputIds = tf.tensor2d(padded.ids, shape, 'int32');
    const attentionMask = tf.tensor2d(padded.mask, shape, 'int32');
    const positionIds = tf.tensor2d(padded.positions, shape, 'int32');
    // Under a trace budget whose scorer reads the last tokens' queries, the last column's are kept.
    const window = this.trace?.window ?? null;
    const attentionRows = window ? tf.fill([padded.batch, 1], padded.length - 1, 'int32') : null;
    let next: number[] = chunks.map(() => -1);
    try {
      const out = this.backbone.forward({
        inputIds,
        attentionMask,
        positionIds,
        cache: this.cache,
        returnCache: true,
        logits,
        ...(attentionRows ? { attentionRows } : {}),
      });
      this.forwardCalls++;
      if (!out.cache) throw new Error('the backbone returned no cache although returnCache was set');
      this.replaceCache(out.cache);
      if (window && out.queries)
        window.push(
          out.queries,
          chunks.map((c) => c.length > 0),
        );
      tf.dispose([
        ...(out.keys ?? []),
        ...(out.values ?? []),
        ...(out.hidden ?? []),
        ...(out.queries ?? []),
        ...(out.attention ?? []),
      ]);
      if (out.logits) {
        const ids = tf.tidy(() => {
          const l = out.logits!;
          const last = tf.squeeze(tf.slice(l, [0, l.shape[1]! - 1, 0], [l.shape[0]!, 1, -1]), [1]);
          return tf.argMax(last, -1);
        });
        out.logits.dispose();
        const chosen = ids.dataSync();
        ids.dispose();
        next = chunks.map((c, b) => (c.length > 0 ? chosen[b]! : -1));
      }
    } finally {
      tf.dispose([inputIds, attentionMask, positionIds, ...(attentionRows ? [attentionRows] : [])]);
    }
    chunks.forEach((c, b) => {
      if (c.length === 0) return;
      this.held[b]! += c.length;
      this.passes[b]!++;
    });
    if (this.trace) {
      this.recordPeak();
      const { from, budget } = this.trace;
      if (this.cacheLength - from >= budget.budget + budget.interval) this.compressTraceNow();
    }
    return next;
  }

  /** Cuts the trace's cache back to its budget (see startTraceBudget). */
  compressTraceNow(): void {
    if (!this.trace || !this.cache) return;
    const { from, budget, window } = this.trace;
    if (this.cacheLength - from <= 0) return;
    const groupSize = this.backbone.config.numHeads / this.backbone.config.numKvHeads;
    this.replaceCache(compressTrace(this.cache, from, budget, groupSize, window));
  }

  private replaceCache(cache: KVCache): void {
    const old = this.cache;
    this.cache = cache;
    if (!old) return;
    const kept = new Set<tf.Tensor>(cacheTensors(cache));
    tf.dispose(cacheTensors(old).filter((t) => !kept.has(t)));
  }

  /**
   * Continues from a cache built elsewhere (the latent student's prefix + latents + segment):
   * `held[b]` real tokens are cached for row b, reached in `passes[b]` forward passes.
   * The batch takes ownership of the cache.
   */
  adopt(cache: KVCache, held: readonly number[], passes: readonly number[]): void {
    this.dispose();
    this.cache = cache;
    held.forEach((n, b) => (this.held[b] = n));
    passes.forEach((n, b) => (this.passes[b] = n));
  }

  /** Cached positions per layer, padding included (the batch's shared cache length). */
  get cacheLength(): number {
    return this.cache?.length ?? 0;
  }

  dispose(): void {
    disposeCache(this.cache);
    this.cache = undefined;
    this.stopTraceBudget();
  }
}

/** What `decodeGreedy` wrote per row. */
export interface Decoded {
  /** Tokens written, the stop token included when one was written. */
  tokens: number[];
  /** True when the row stopped on a stop token (false: it hit the token limit). */
  stopped: boolean;
}

/**
 * Greedy decoding over a CachedBatch: `first[b]` is row b's next token from the last feed
 * (rows with -1 are inactive). Each further token costs one pass over that token only. A row
 * ends on a stop token or after `maxTokens`; its last token is not fed (the caller decides what
 * follows it).
 */
export function decodeGreedy(
  batch: CachedBatch,
  first: readonly number[],
  stopIds: ReadonlySet<number>,
  maxTokens: number,
): Decoded[] {
  const out: Decoded[] = first.map(() => ({ tokens: [], stopped: false }));
  const done = first.map((t) => t < 0 || maxTokens <= 0);
  let next = [...first];
  for (;;) {
    next.forEach((token, b) => {
      if (done[b]) return;
      const row = out[b]!;
      row.tokens.push(token);
      if (stopIds.has(token)) {
        row.stopped = true;
        done[b] = true;
      } else if (row.tokens.length >= maxTokens) {
        done[b] = true;
      }
    });
    if (done.every(Boolean)) return out;
    next = batch.feed(out.map((row, b) => (done[b] ? [] : [row.tokens[row.tokens.length - 1]!])));
  }
}
