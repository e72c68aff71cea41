import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { EvictionResult, Evictor, ScorerInput } from '../contracts/scorer.js';
import { checkScorerInput } from './scorer-input.js';

type Tensor = tf.Tensor;

/**
 * Selection keys live in three finite tiers so that one `topk` orders them: protected valid
 * tokens, then every other valid token by score, then padding. Finite on purpose: tfjs's cpu
 * topk does not break ties between two Infinity values by position, while it does for equal
 * finite values (lower index first, as the wasm and TensorFlow kernels do).
 */
const SCORE_LIMIT = 1e38;
const PROTECTED_KEY = 3e38;
const PADDING_KEY = -3e38;

/**
 * The finite key one `topk` orders tokens by, [B, L, H_kv, N]: protected valid tokens, then
 * every other valid token by its score (clamped to ±1e38, NaN lowest), then padding. With a
 * `headMask` [B, L, H_kv, N] (ScorerInput.headMask), an entry a head does not hold counts as padding.
 */
export function selectionKeys(mask: Tensor, scores: Tensor, protectedMask?: Tensor, headMask?: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, N] = mask.shape as [number, number];
    const tokens = tf.greater(mask, 0).reshape([B, 1, 1, N]);
    const valid = headMask ? tf.logicalAnd(tokens, tf.greater(headMask, 0)) : tokens;
    const clamped = tf.clipByValue(scores.toFloat(), -SCORE_LIMIT, SCORE_LIMIT);
    const finite = tf.where(tf.isNaN(clamped), tf.fill(clamped.shape, -SCORE_LIMIT), clamped);
    const key = tf.where(tf.broadcastTo(valid, finite.shape), finite, tf.fill(finite.shape, PADDING_KEY));
    if (!protectedMask) return key;
    const keep = tf.logicalAnd(valid, tf.greater(protectedMask, 0).reshape([B, 1, 1, N]));
    return tf.where(tf.broadcastTo(keep, key.shape), tf.fill(key.shape, PROTECTED_KEY), key);
  });
}

/**
 * Keeps the top `budget` tokens per (example, layer, KV head) independently, then orders the
 * kept tokens by their original position (slot j = j-th kept token). Valid CoT tokens always
 * rank above padding, so padding fills a slot only when the CoT is shorter than the budget;
 * those slots get index 0, zero K/V and 0 in `slotMask`. Protected valid tokens rank above all
 * others (the earliest win when more are protected than fit). Scores are clamped to ±1e38 and
 * NaN counts as the lowest score; equal scores keep the earlier token.
 *
 * `input.keys`/`input.values` [B, L, H_kv, N, d], `scores` [B, L, H_kv, N],
 * `protectedMask` [B, N] (1 = protect). One batched topk, one sort and one gather for the
 * whole batch; no per-head JavaScript loop.
 *
 * `headBudgets` [B or 1, L, H_kv] (at most `budget`) gives each layer and head its own count, as
 * the budget-allocating evictors (pyramid, adakv) do: a head keeps its best min(count, N_valid)
 * tokens in its first slots, and the result's `headSlotMask` [B, L, H_kv, M] marks them
 * (`slotMask` then marks the slots any head fills). Without it every head keeps `budget`. An
 * input whose heads hold different entries (`input.headMask`) also gets a `headSlotMask`.
 */
export function evictTopK(
  input: ScorerInput,
  scores: Tensor,
  budget: number,
  protectedMask?: Tensor,
  headBudgets?: Tensor,
): EvictionResult {
  const { B, L, Hkv, N, d } = checkScorerInput(input, 'topk evictor', ['keys', 'values']);
  if (!Number.isInteger(budget) || budget < 1)
    throw new KavaError(`topk evictor: budget must be a positive integer, got ${budget}`);
  if (input.budget !== budget) {
    throw new KavaError(`topk evictor: budget ${budget} differs from the scorer input's budget ${input.budget}`);
  }
  if (scores.shape.join() !== [B, L, Hkv, N].join()) {
    throw new KavaError(`topk evictor: scores must be [B, L, H_kv, N] = [${[B, L, Hkv, N]}], got [${scores.shape}]`);
  }
  if (protectedMask && protectedMask.shape.join() !== [B, N].join()) {
    throw new KavaError(`topk evictor: protectedMask must be [B, N] = [${B}, ${N}], got [${protectedMask.shape}]`);
  }
  if (headBudgets && (headBudgets.rank !== 3 || headBudgets.shape[1] !== L || headBudgets.shape[2] !== Hkv)) {
    throw new KavaError(`topk evictor: headBudgets must be [B or 1, ${L}, ${Hkv}], got [${headBudgets.shape}]`);
  }
  const headMask = input.headMask;
  if (headMask && headMask.shape.join() !== [B, L, Hkv, N].join()) {
    throw new KavaError(
      `topk evictor: headMask must be [B, L, H_kv, N] = [${[B, L, Hkv, N]}], got [${headMask.shape}]`,
    );
  }
  const M = budget;
  const k = Math.min(M, N);
  return tf.tidy((): EvictionResult & tf.TensorContainerObject => {
    const key = selectionKeys(input.mask, scores, protectedMask, headMask);
    const top = tf.topk(key, k).indices; // [B, L, H_kv, k], by key descending

    // Valid tokens precede padding in `top`, so slot t (in either order) is filled iff
    // t < min(N_valid, M): the same for every layer and head of an example; with head budgets,
    // or heads that hold different entries, t < min(its head's N_valid, its head's count).
    const nValid = tf.sum(tf.greater(input.mask, 0).toFloat(), 1, true); // [B, 1]
    const headValid = headMask
      ? tf.sum(tf.mul(tf.greater(headMask, 0).toFloat(), tf.greater(input.mask, 0).toFloat().reshape([B, 1, 1, N])), 3)
      : tf.broadcastTo(nValid.reshape([B, 1, 1]), [B, L, Hkv]); // [B, L, H_kv]
    const counts =
      headBudgets || headMask
        ? tf.minimum(headBudgets ? tf.broadcastTo(headBudgets.toFloat(), [B, L, Hkv]) : M, headValid).expandDims(3)
        : null; // [B, L, H_kv, 1]
    const headSlotMask = counts ? tf.less(tf.range(0, M).reshape([1, 1, 1, M]), counts).toFloat() : undefined;
    const slotMask = headSlotMask
      ? tf.max(headSlotMask, [1, 2])
      : tf.less(tf.range(0, M).reshape([1, M]), nValid).toFloat(); // [B, M]
    const filled = counts
      ? tf.less(tf.range(0, k).reshape([1, 1, 1, k]), counts)
      : tf.greater(slotMask.slice([0, 0], [B, k]), 0).reshape([B, 1, 1, k]);

    // Sort ascending by position, padding picks last: topk of −(index, or N + index for padding).
    const position = top.toFloat();
    const sortKey = tf.where(tf.broadcastTo(filled, position.shape), position, tf.add(position, N));
    const sorted = tf.neg(tf.topk(tf.neg(sortKey), k).values).toInt();
    let indices = tf.where(tf.broadcastTo(filled, sorted.shape), sorted, tf.zerosLike(sorted));
    if (k < M) indices = tf.concat([indices, tf.zeros([B, L, Hkv, M - k], 'int32')], 3);

    // One gather over the flattened cache: row ((b·L + l)·H_kv + h)·N + index.
    const base = tf
      .range(0, B * L * Hkv, 1, 'int32')
      .mul(tf.scalar(N, 'int32'))
      .reshape([B, L, Hkv, 1]);
    const flat = tf.add(indices, base).reshape([-1]);
    const slotFilled = tf.broadcastTo(
      headSlotMask ? tf.greater(headSlotMask, 0).expandDims(4) : tf.greater(slotMask, 0).reshape([B, 1, 1, M, 1]),
      [B, L, Hkv, M, d],
    );
    const take = (cache: Tensor) => {
      const gathered = tf.gather(cache.reshape([B * L * Hkv * N, d]), flat).reshape([B, L, Hkv, M, d]);
      return tf.where(slotFilled, gathered, tf.zerosLike(gathered)); // where, not ×0: no −0 entries
    };
    const kept = { keys: take(input.keys), values: take(input.values), indices, slotMask };
    return headSlotMask ? { ...kept, headSlotMask } : kept;
  });
}

/**
 * An evictor that keeps the top-k tokens under budgets of its own per layer and head: `budgets`
 * gives [B or 1, L, H_kv] counts (at most M) for an input, its scores and M; the top-k evictor
 * does the rest (headSlotMask marks each head's slots). PyramidKV and AdaKV are two such.
 */
export function budgetedEvictor(
  name: string,
  budgets: (input: ScorerInput, scores: Tensor, budget: number) => Tensor,
): Evictor {
  return {
    name,
    evict(input, scores, budget, protectedMask) {
      const headBudgets = budgets(input, scores, budget);
      try {
        return evictTopK(input, scores, budget, protectedMask, headBudgets);
      } finally {
        headBudgets.dispose();
      }
    },
  };
}

/** The "topk" evictor (KAVA-METHOD §3). */
export const topKEvictor: Evictor = {
  name: 'topk',
  evict: evictTopK,
};
