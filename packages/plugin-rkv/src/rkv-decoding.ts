import {
  tf,
  z,
  defineScorer,
  KEY_NORM_EPS,
  attentionImportance,
  keyNorms,
  expandTokenMask,
  maskedSoftmax,
  lastValidTokens,
} from '@kava/core';

const options = z.strictObject({
  lambda: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('Weight λ of the pooled window attention; the redundancy term is subtracted with weight 1 − λ.'),
  window: z
    .number()
    .int()
    .positive()
    .default(8)
    .describe(
      'α: queries of the last α CoT tokens score the rest; those α tokens are always kept (as R-KV keeps its window).',
    ),
  kernelSize: z
    .number()
    .int()
    .positive()
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(7)
    .describe("Width of the max-pool over neighbouring tokens' importance (odd; padding kernelSize ∕ 2)."),
  threshold: z
    .number()
    .min(0)
    .lt(1)
    .default(0.5)
    .describe(
      'Cosine similarity in [0, 1) above which two keys count as duplicates; the newest duplicate of each token is spared.',
    ),
});

export type RkvDecodingOptions = z.input<typeof options>;

/**
 * The original decoding-time R-KV (arXiv 2505.24133), on the CoT cache:
 * - importance: the last α CoT tokens' queries attend (softmax, GQA-reduced on the logits) over
 *   the valid CoT tokens before them; mean over those queries; max-pooled along the tokens
 *   (kernel 7, padding 3);
 * - redundancy: cosine matrix of the keys with a zero diagonal; in each row the similarity to the
 *   newest token above the threshold is zeroed (so the newest duplicate scores as less
 *   redundant and is kept); R = softmax_j(mean_i sim[i, j]) over the valid tokens;
 * - score = λ·I − (1−λ)·R, and the α window tokens are always kept (score +∞).
 * R-KV's own code also zeroes sim[i, 0] for rows without any duplicate (its "last index"
 * defaults to 0); we do not, following the method's description. The schema keeps the threshold
 * in [0, 1): padding and self-similarity are excluded by values (0 and −1) that must not pass it.
 */
export const rkvDecodingScorer = defineScorer({
  name: 'rkv-decoding',
  description:
    'Original decoding-time R-KV: last-α-window attention, max-pooled, minus redundancy that spares the newest duplicate.',
  options,
  needs: ['keys', 'windowQueries'],
  window: (o) => o.window,
  score(input, { lambda, kernelSize, threshold }, { B, L, Hkv, N }) {
    const queries = input.windowQueries!;
    const alpha = queries.shape[3]!;
    const mask = tf.cast(tf.greater(input.mask, 0), 'float32');
    const queryMask = input.windowQueryMask ?? tf.ones([B, alpha]);
    // Window = the last nWindow valid tokens (nWindow = real window queries of the example).
    const nWindow = tf.sum(queryMask, 1, true); // [B, 1]
    const inWindow = lastValidTokens(mask, nWindow);
    const scored = tf.sub(mask, inWindow); // the cache R-KV scores

    const importance = attentionImportance({
      queries,
      queryMask,
      keys: input.keys,
      mask: scored,
      groupSize: input.groupSize,
      reduce: input.groupReduce ?? 'max',
    }); // [B, L, H_kv, N], 0 outside `scored`
    const outside = tf.broadcastTo(tf.equal(expandTokenMask(scored, 4), 0), importance.shape);
    const neighbours = tf.where(outside, tf.fill(importance.shape, -Infinity), importance);
    const pooled = tf
      .maxPool(neighbours.reshape([B * L * Hkv, 1, N, 1]) as tf.Tensor4D, [1, kernelSize], 1, 'same')
      .reshape([B, L, Hkv, N]);

    const redundancy = newestDuplicateRedundancy(input.keys, mask, threshold);
    const score = tf.sub(tf.mul(pooled, lambda), tf.mul(redundancy, 1 - lambda));
    const windowMask = tf.broadcastTo(tf.greater(expandTokenMask(inWindow, 4), 0), score.shape);
    return tf.where(windowMask, tf.fill(score.shape, Infinity), score);
  },
});
export const createRkvDecodingScorer = rkvDecodingScorer.create;

/**
 * R-KV's redundancy over the valid tokens: sim = cos(k_i, k_j) with a zero diagonal and padding
 * rows/columns zeroed; per row i, the entry of the last (newest) j with sim > threshold is zeroed;
 * R = softmax_j(mean over valid rows i of sim[i, j]), softmax over valid j. [B, L, H_kv, N].
 *
 * Done without elementwise passes over the N×N matrix beyond one threshold and one argmax
 * (tfjs's cpu backend runs broadcasting ops ~100× slower than plain ones):
 * - the column sums before zeroing are Σ_{i≠j} k̂_i·k̂_j = k̂_j·S − k̂_j·k̂_j (sim is symmetric);
 * - the matrix is built against the keys in reverse order, so the first column above the
 *   threshold (argmax of a boolean) is the newest such token; self-similarity entries are set
 *   to −1 first (one scatter of N entries per head);
 * - each row's zeroed entry is subtracted from its column with a scatter-add.
 */
export function newestDuplicateRedundancy(keys: tf.Tensor, mask: tf.Tensor, threshold: number): tf.Tensor {
  return tf.tidy(() => {
    const [B, L, H, N, d] = keys.shape as number[] as [number, number, number, number, number];
    const rows = B * L * H * N;
    const norms = keyNorms(keys);
    const scale = tf.div(mask.reshape([B, 1, 1, N]), tf.add(norms, KEY_NORM_EPS)); // padding keys → 0
    const unit = tf.mul(keys, scale.expandDims(-1));
    const reversedRows = tf.sub(
      tf.scalar(N - 1, 'int32'),
      tf.mod(tf.range(0, rows, 1, 'int32'), tf.scalar(N, 'int32')),
    );
    const headStart = tf.sub(
      tf.range(0, rows, 1, 'int32'),
      tf.mod(tf.range(0, rows, 1, 'int32'), tf.scalar(N, 'int32')),
    );
    const unitReversed = tf.gather(unit.reshape([rows, d]), tf.add(headStart, reversedRows)).reshape([B, L, H, N, d]);

    // simReversed[i, c] = cos(k_i, k_{N−1−c}); row i's own entry sits at c = N−1−i.
    const flat = tf.matMul(unit, unitReversed, false, true).reshape([rows * N]);
    const rowIndex = tf.range(0, rows, 1, 'int32');
    const selfAt = tf.add(tf.mul(rowIndex, tf.scalar(N, 'int32')), reversedRows).expandDims(1);
    const simReversed = tf.tensorScatterUpdate(flat, selfAt, tf.fill([rows], -1)).reshape([rows, N]);

    const firstAbove = tf.argMax(tf.greater(simReversed, threshold), -1).toInt(); // [rows], 0 if none
    const value = tf.gather(
      simReversed.reshape([rows * N]),
      tf.add(tf.mul(rowIndex, tf.scalar(N, 'int32')), firstAbove),
    );
    const zeroed = tf.where(tf.greater(value, threshold), value, tf.zerosLike(value)); // 0 when no duplicate
    const newest = tf.add(headStart, tf.sub(tf.scalar(N - 1, 'int32'), firstAbove)); // row of the flat [rows] layout
    // scatterND sums duplicate indices (a segment sum); tfjs's cpu UnsortedSegmentSum is O(rows²).
    const removed = tf.scatterND(newest.expandDims(1), zeroed, [rows]).reshape([B, L, H, N]);

    const sumOfUnits = tf.matMul(scale.reshape([B, L, H, 1, N]), keys); // S = Σ_valid k̂_j
    const columnSum = tf.sub(tf.matMul(unit, sumOfUnits, false, true).squeeze([-1]), tf.sum(tf.square(unit), -1));
    const count = tf.maximum(tf.sum(mask, 1), 1).reshape([B, 1, 1, 1]);
    const meanOverRows = tf.div(tf.sub(columnSum, removed), count);
    return maskedSoftmax(meanOverRows, expandTokenMask(mask, 4));
  });
}
