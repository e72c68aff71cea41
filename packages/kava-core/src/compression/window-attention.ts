import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { ScorerInput } from '../contracts/scorer.js';
import { maskedSoftmax, validCount, validRank } from './masked.js';

type Tensor = tf.Tensor;

/**
 * The attention the window queries pay to the CoT, per query head, as the presses that read it
 * (SnapKV, H2O, TOVA) compute it: window query t is the CoT's (n − α + t)-th valid token (n valid
 * tokens, α window queries, oldest first, as the trainer builds them) and attends causally to the
 * valid CoT tokens up to and including itself; softmax over those tokens (the CoT, not the
 * question before it), one row per query head (keys repeated over the GQA group, as HF's
 * repeat_kv does), leaving out entries a head does not hold (`headMask`). A padding query
 * (windowQueryMask 0) gives a row of zeros.
 *
 * Returns [B, L, H_kv, G, α, N] (G = groupSize), so a press reduces the group as it chooses
 * (kvpress averages the probabilities over it).
 */
export function windowAttentionPerHead(input: ScorerInput): Tensor {
  const queries = input.windowQueries;
  if (!queries) throw new KavaError('windowAttentionPerHead: the scorer input has no windowQueries');
  return tf.tidy(() => {
    const [B, L, Hkv, N, d] = input.keys.shape as [number, number, number, number, number];
    const G = input.groupSize;
    const alpha = queries.shape[3]!;
    const x = B * L * Hkv;
    // Query head h belongs to KV head ⌊h / G⌋: the group's G·α query rows against that head's keys.
    const rows = queries.reshape([x, G * alpha, d]);
    const logits = tf
      .matMul(rows, input.keys.reshape([x, N, d]), false, true)
      .mul(tf.scalar(1 / Math.sqrt(d)))
      .reshape([B, L, Hkv, G, alpha, N]);
    const allowed = causalWindowMask(input.mask, input.windowQueryMask ?? tf.ones([B, alpha]));
    // Entries a head no longer holds (a decoding cache under per-head budgets) are not attended.
    const held = input.headMask ? tf.mul(allowed, input.headMask.reshape([B, L, Hkv, 1, 1, N])) : allowed;
    return maskedSoftmax(logits, held);
  });
}

/**
 * Shape [B, 1, 1, 1, α, N]: 1 where window query t may attend CoT token i — i valid, t real, and the
 * rank of i among the valid tokens at most n − α + t (t's own rank).
 */
export function causalWindowMask(mask: Tensor, windowQueryMask: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, N] = mask.shape as [number, number];
    const alpha = windowQueryMask.shape[1]!;
    const valid = tf.cast(tf.greater(mask, 0), 'float32');
    const queryRank = tf.add(tf.sub(validCount(valid), alpha), tf.range(0, alpha, 1, 'float32').expandDims(0)); // [B, α]
    const seen = tf.lessEqual(validRank(valid).reshape([B, 1, N]), queryRank.reshape([B, alpha, 1])); // [B, α, N]
    const allowed = tf.mul(
      tf.mul(tf.cast(seen, 'float32'), valid.reshape([B, 1, N])),
      tf.cast(tf.greater(windowQueryMask, 0), 'float32').reshape([B, alpha, 1]),
    );
    return allowed.reshape([B, 1, 1, 1, alpha, N]);
  });
}

/**
 * [B, N] float: 1 for the last `count` valid tokens of each example ([B, 1] counts, e.g. its real
 * window queries), 0 elsewhere and on padding.
 */
export function lastValidTokens(mask: Tensor, count: Tensor): Tensor {
  return tf.tidy(() => {
    const valid = tf.cast(tf.greater(mask, 0), 'float32');
    const after = tf.cumsum(valid, 1, true, true); // valid tokens after each one
    return tf.mul(tf.cast(tf.less(after, count), 'float32'), valid);
  });
}

/**
 * Mean pooling along the tokens with a window of `kernelSize` (odd), stride 1 and zero padding
 * counted in the mean, as PyTorch's avg_pool1d(kernel, padding = kernel // 2) does. [.., N].
 */
export function avgPoolTokens(x: Tensor, kernelSize: number): Tensor {
  return tf.tidy(() => {
    const half = Math.floor(kernelSize / 2);
    const n = x.shape.at(-1)!;
    const padded = tf.pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as [number, number]), [half, half]]);
    let sum = tf.zerosLike(x);
    for (let k = 0; k < kernelSize; k++)
      sum = tf.add(sum, tf.slice(padded, [...x.shape.slice(0, -1).map(() => 0), k], [...x.shape.slice(0, -1), n]));
    return tf.div(sum, tf.scalar(kernelSize));
  });
}
