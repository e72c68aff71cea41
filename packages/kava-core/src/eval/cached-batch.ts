import { tf } from '../tf.js';
import type { Backbone, ForwardRequest, ForwardResult, KVCache } from '../contracts/backbone.js';
import { padBatch } from '../data/sequences.js';

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

  constructor(
    private readonly backbone: Backbone,
    private readonly padId: number,
    readonly size: number,
    private readonly logitsBudgetBytes = DEFAULT_LOGITS_BUDGET_BYTES,
  ) {
    this.held = new Array<number>(size).fill(0);
    this.passes = new Array<number>(size).fill(0);
  }

  /**
   * Appends `chunks[b]` to row b (empty: the row only receives masked padding) and returns each
   * row's argmax next token after its chunk (-1 for rows with an empty chunk).
   */
  feed(chunks: readonly (readonly number[])[]): number[] {
    return this.feedDetailed(chunks).next;
  }

  /**
   * `feed`, also returning (with `hidden`) every layer's hidden state at the last column,
   * [L + 1] tensors [B, hidden] that the caller disposes (latent students start from the hidden
   * state at `<bot>`).
   */
  feedDetailed(chunks: readonly (readonly number[])[], options: { hidden?: boolean } = {}): { next: number[]; hidden?: tf.Tensor[] } {
    if (chunks.length !== this.size) throw new Error(`CachedBatch.feed: ${chunks.length} chunks for ${this.size} rows`);
    const width = Math.max(0, ...chunks.map((c) => c.length));
    if (width === 0) return { next: chunks.map(() => -1) };
    const vocab = this.backbone.config.vocabSize;
    // Only the last column's logits are needed: when [B, S, V] would be large, run the rest of the
    // chunk without logits first (one more pass, counted; the Backbone contract has no last-only logits).
    if (width > 1 && this.size * width * vocab * 4 > this.logitsBudgetBytes) {
      const heads = chunks.map((c) => (c.length === width ? c.slice(0, -1) : c));
      const tails = chunks.map((c) => (c.length === width ? [c[c.length - 1]!] : []));
      this.run(heads, false, false);
      return this.run(tails, true, options.hidden ?? false);
    }
    return this.run(chunks, true, options.hidden ?? false);
  }

  /**
   * One pass over continuous inputs [B, S, hidden] for every row (latent tokens), RoPE positions
   * continuing each row's count. With `commit` the new positions join the cache (the final pass
   * of the latents); without it the cache stays as it was, so parallel (Jacobi) iterations all
   * attend to the same prefix. Counts a forward pass for every row either way. Returns the
   * backbone's outputs without the cache; the caller owns and disposes them.
   */
  forwardEmbeds(inputEmbeds: tf.Tensor, options: { commit: boolean } & Pick<ForwardRequest, 'hidden' | 'logits' | 'kv'>): Omit<ForwardResult, 'cache'> {
    const [B, S] = inputEmbeds.shape as [number, number, number];
    if (B !== this.size) throw new Error(`CachedBatch.forwardEmbeds: ${B} rows for a batch of ${this.size}`);
    const positions = new Int32Array(B * S);
    for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) positions[b * S + j] = this.held[b]! + j;
    const positionIds = tf.tensor2d(positions, [B, S], 'int32');
    const attentionMask = tf.ones([B, S], 'int32');
    try {
      const out = this.backbone.forward({
        inputEmbeds, attentionMask, positionIds, cache: this.cache, returnCache: options.commit,
        logits: options.logits ?? false, hidden: options.hidden ?? false, kv: options.kv ?? false,
      });
      this.forwardCalls++;
      for (let b = 0; b < B; b++) this.passes[b]!++;
      const { cache, ...rest } = out;
      if (options.commit) {
        if (!cache) throw new Error('the backbone returned no cache although returnCache was set');
        this.replaceCache(cache);
        for (let b = 0; b < B; b++) this.held[b]! += S;
      }
      // The decoder may hand back the input itself as hidden[0]; clone it so that the caller can
      // dispose every returned tensor without disposing its own input.
      if (rest.hidden) rest.hidden = rest.hidden.map((h) => (h === inputEmbeds ? tf.clone(h) : h));
      return rest;
    } finally {
      tf.dispose([positionIds, attentionMask]);
    }
  }

  private run(chunks: readonly (readonly number[])[], logits: boolean, hidden: boolean): { next: number[]; hidden?: tf.Tensor[] } {
    const padded = padBatch(chunks, this.padId, 'left', this.held);
    const shape: [number, number] = [padded.batch, padded.length];
    const inputIds = tf.tensor2d(padded.ids, shape, 'int32');
    const attentionMask = tf.tensor2d(padded.mask, shape, 'int32');
    const positionIds = tf.tensor2d(padded.positions, shape, 'int32');
    const result: { next: number[]; hidden?: tf.Tensor[] } = { next: chunks.map(() => -1) };
    try {
      const out = this.backbone.forward({ inputIds, attentionMask, positionIds, cache: this.cache, returnCache: true, logits, hidden });
      this.forwardCalls++;
      if (!out.cache) throw new Error('the backbone returned no cache although returnCache was set');
      this.replaceCache(out.cache);
      if (hidden && out.hidden) {
        result.hidden = out.hidden.map((h) => tf.tidy(() => tf.squeeze(tf.slice(h, [0, h.shape[1]! - 1, 0], [h.shape[0]!, 1, -1]), [1])));
      }
      tf.dispose([...(out.keys ?? []), ...(out.values ?? []), ...(out.hidden ?? [])]);
      if (out.logits) {
        const ids = tf.tidy(() => {
          const l = out.logits!;
          const last = tf.squeeze(tf.slice(l, [0, l.shape[1]! - 1, 0], [l.shape[0]!, 1, -1]), [1]);
          return tf.argMax(last, -1);
        });
        out.logits.dispose();
        const chosen = ids.dataSync();
        ids.dispose();
        result.next = chunks.map((c, b) => (c.length > 0 ? chosen[b]! : -1));
      }
    } finally {
      tf.dispose([inputIds, attentionMask, positionIds]);
    }
    chunks.forEach((c, b) => {
      if (c.length === 0) return;
      this.held[b]! += c.length;
      this.passes[b]!++;
    });
    return result;
  }

  private replaceCache(cache: KVCache): void {
    const old = this.cache;
    this.cache = cache;
    if (!old) return;
    const kept = new Set<tf.Tensor>([...cache.keys, ...cache.values, cache.mask]);
    tf.dispose([...old.keys, ...old.values, old.mask].filter((t) => !kept.has(t)));
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
    if (this.cache) tf.dispose([...this.cache.keys, ...this.cache.values, this.cache.mask]);
    this.cache = undefined;
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
export function decodeGreedy(batch: CachedBatch, first: readonly number[], stopIds: ReadonlySet<number>, maxTokens: number): Decoded[] {
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
