import type { tf } from '../tf.js';

type Tensor = tf.Tensor;

/** What a scorer may read. A scorer lists the parts it needs so the trainer builds only those. */
export type ScorerNeed = 'keys' | 'values' | 'answerQueries' | 'windowQueries';

/** How attention-based scorers reduce the query heads of one GQA group (on the logits). */
export type GroupReduce = 'max' | 'mean';

/**
 * The teacher's cache over the chain-of-thought (CoT) region, batched over examples (B),
 * layers (L), KV heads (H_kv) and CoT tokens (N, padded to the longest CoT in the batch).
 * Every tensor is owned by the caller; a scorer must not dispose them.
 */
export interface ScorerInput {
  /** [B, L, H_kv, N, d] keys (post-RoPE unless `compression.rope` is "pre"). */
  keys: Tensor;
  /** [B, L, H_kv, N, d] values. */
  values: Tensor;
  /** [B, N] float32, 1 for a valid CoT token, 0 for padding. */
  mask: Tensor;
  /**
   * [B, L, H_kv, N] float32, when the heads hold different entries (a decoding cache already cut
   * by a per-head budget): 1 where layer l's KV head h holds token i. Absent: every head holds
   * `mask`. The evictor never keeps an entry a head does not hold, and the kit's attention
   * helpers leave such entries out, so a scorer may ignore it.
   */
  headMask?: Tensor;
  /** [B, N] int32, each CoT token's position in the teacher sequence. */
  positions: Tensor;
  /** [B, L, H, Qa, d] post-RoPE queries of the answer segment (when requested). */
  answerQueries?: Tensor;
  /** [B, Qa] float32, 1 for a real answer-segment query. */
  answerQueryMask?: Tensor;
  /** [B, L, H, α, d] post-RoPE queries of the last α CoT tokens (decoding-time R-KV). */
  windowQueries?: Tensor;
  /** [B, α] float32, 1 for a real window query. */
  windowQueryMask?: Tensor;
  /** Query heads per KV head (H / H_kv). */
  groupSize: number;
  /**
   * How attention-based scorers reduce a GQA group of query heads, from
   * `compression.groupReduce` ("max" as R-KV does when absent).
   */
  groupReduce?: GroupReduce;
  /**
   * The budget M the evictor will keep. Scorers whose choice depends on it (uniform stride)
   * read it; the evictor checks it matches the budget it is given.
   */
  budget: number;
  /** Seed for scorers that draw random numbers; same seed, same scores. */
  seed: number;
}

/**
 * Scores every CoT token per (example, layer, KV head). Higher = keep. A scorer only scores:
 * top-M selection, ordering, padding and protected tokens are the evictor's job, so a scorer
 * may return anything at padded positions.
 */
export interface KVScorer {
  readonly name: string;
  readonly needs: readonly ScorerNeed[];
  /** With `needs` "windowQueries": how many of the last CoT tokens' queries to pass (α). */
  readonly window?: number;
  /** Returns [B, L, H_kv, N] float32, owned by the caller. Must not dispose its inputs. */
  score(input: ScorerInput): Tensor;
}

/** Output of eviction: the compressed teacher cache, owned by the caller. */
export interface EvictionResult {
  /** [B, L, H_kv, M, d] kept keys, slot j = j-th kept token in original order. */
  keys: Tensor;
  /** [B, L, H_kv, M, d] kept values. */
  values: Tensor;
  /** [B, L, H_kv, M] int32 indices into the CoT axis N (0 for unfilled slots). */
  indices: Tensor;
  /** [B, M] float32: 1 for a filled slot, 0 where the CoT was shorter than M (with headSlotMask: filled in any head). */
  slotMask: Tensor;
  /**
   * [B, L, H_kv, M] float32, from evictors that give layers or heads their own budgets (pyramid,
   * adakv): 1 for a slot that layer and head filled. Absent: every head fills what slotMask says.
   */
  headSlotMask?: Tensor;
}

/** Keeps the top-M tokens per (example, layer, KV head). */
export interface Evictor {
  readonly name: string;
  /**
   * `scores` [B, L, H_kv, N] from a scorer; `protectedMask` [B, N] (1 = always keep while
   * budget allows). Padding is never kept while valid CoT tokens remain.
   */
  evict(input: ScorerInput, scores: Tensor, budget: number, protectedMask?: Tensor): EvictionResult;
}
