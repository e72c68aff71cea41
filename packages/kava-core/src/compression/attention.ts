import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { GroupReduce, ScorerInput } from '../contracts/scorer.js';
import { expandTokenMask, maskedSoftmax } from './masked.js';

type Tensor = tf.Tensor;

/** The queries, CoT keys and masks of an attention-based score. */
export interface CotAttentionArgs {
  /** [B, L, H, Q, d] queries (query head h belongs to KV head ⌊h / groupSize⌋, as in HF repeat_kv). */
  queries: Tensor;
  /** [B, L, H_kv, N, d] CoT keys. */
  keys: Tensor;
  /** [B, N] 1 for a valid CoT token. */
  mask: Tensor;
  /** [B, L, H_kv, N] which tokens each head holds (ScorerInput.headMask); absent: all of `mask`. */
  headMask?: Tensor;
  /** Query heads per KV head. */
  groupSize: number;
  /** Reduction over a group's query heads, applied to the logits before the softmax. Default "max". */
  reduce?: GroupReduce;
}

/**
 * Scaled attention logits q·k/√d of each query over the CoT keys, with the query heads of each
 * GQA group reduced to one row per KV head: [B, L, H_kv, Q, N]. The reduction happens on the
 * logits (before any softmax), as R-KV's `compute_attention_scores` does.
 */
export function groupedQueryLogits({
  queries,
  keys,
  groupSize,
  reduce = 'max',
}: Omit<CotAttentionArgs, 'mask'>): Tensor {
  if (queries.rank !== 5 || keys.rank !== 5) {
    throw new KavaError(
      `attention: expected queries [B, L, H, Q, d] and keys [B, L, H_kv, N, d], got [${queries.shape}] and [${keys.shape}]`,
    );
  }
  const [b, l, h, q, d] = queries.shape as number[] as [number, number, number, number, number];
  const [kb, kl, hkv, n, kd] = keys.shape as number[] as [number, number, number, number, number];
  if (b !== kb || l !== kl || d !== kd || h !== hkv * groupSize) {
    throw new KavaError(
      `attention: queries [${queries.shape}] do not match keys [${keys.shape}] with groupSize ${groupSize} ` +
        '(expected the same B, L and d, and H = H_kv · groupSize)',
    );
  }
  if (reduce !== 'max' && reduce !== 'mean') {
    throw new KavaError(`attention: groupReduce must be "max" or "mean", got ${JSON.stringify(reduce)}`);
  }
  return tf.tidy(() => {
    // One batched matmul per (example, layer, KV head): the group's G·Q query rows against N keys.
    // Keys against the group's queries ordered (query, head), so the G heads of one query are
    // adjacent columns and the reduction runs over the innermost axis; a reduction over a middle
    // axis (or slicing one out) costs a full transpose on the cpu backend.
    const x = b * l * hkv;
    const byQuery = tf.transpose(queries.reshape([x, groupSize, q, d]), [0, 2, 1, 3]).reshape([x, q * groupSize, d]);
    const logits = tf.matMul(keys.reshape([x, n, d]), byQuery, false, true).reshape([x, n, q, groupSize]);
    const reduced = reduce === 'max' ? tf.max(logits, -1) : tf.mean(logits, -1); // [x, N, Q]
    return tf.transpose(tf.mul(reduced, tf.scalar(1 / Math.sqrt(d))), [0, 2, 1]).reshape([b, l, hkv, q, n]);
  });
}

/**
 * Attention probabilities of each query over the valid CoT tokens only (softmax restricted to
 * `mask`), GQA-reduced: [B, L, H_kv, Q, N]. Padding gets probability 0.
 */
export function cotAttention(args: CotAttentionArgs): Tensor {
  return tf.tidy(() => {
    const logits = groupedQueryLogits(args);
    const tokens = expandTokenMask(args.mask, logits.rank);
    return maskedSoftmax(logits, args.headMask ? tf.mul(tokens, tf.expandDims(args.headMask, 3)) : tokens);
  });
}

/**
 * KaVa's importance (KAVA-METHOD §3): the mean over the valid queries of the attention each
 * pays to CoT token i, softmax over the valid CoT tokens only, GQA-reduced on the logits:
 * `I[b,l,h,i] = mean_j softmax_i(q_j·k_i/√d)`, shape [B, L, H_kv, N]. `queryMask` [B, Q]
 * marks real queries (padding queries are left out of the mean); all queries count when absent.
 */
export function attentionImportance(args: CotAttentionArgs & { queryMask?: Tensor }): Tensor {
  return tf.tidy(() => {
    const probs = cotAttention(args); // [B, L, H_kv, Q, N]
    const [b, l, h, q, n] = probs.shape as number[] as [number, number, number, number, number];
    const queryMask = args.queryMask ?? tf.ones([b, q]);
    // Mean over the real queries as a [1, Q]·[Q, N] matmul per (example, layer, head).
    const weights = tf.div(queryMask, tf.maximum(tf.sum(queryMask, 1, true), 1)); // [B, Q]
    const perHead = tf.tile(weights.reshape([b, 1, 1, 1, q]), [1, l, h, 1, 1]);
    return tf.matMul(perHead, probs).reshape([b, l, h, n]);
  });
}

/**
 * The importance of KAVA-METHOD §3 straight from a scorer's input: the answer-segment queries over
 * the valid CoT keys, GQA-reduced as `compression.groupReduce` says ("max" when unset).
 */
export function answerQueryImportance(input: ScorerInput): Tensor {
  return attentionImportance({
    queries: input.answerQueries!,
    queryMask: input.answerQueryMask,
    keys: input.keys,
    mask: input.mask,
    ...(input.headMask ? { headMask: input.headMask } : {}),
    groupSize: input.groupSize,
    reduce: input.groupReduce ?? 'max',
  });
}
