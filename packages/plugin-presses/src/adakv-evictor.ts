import { tf, z, budgetedEvictor, selectionKeys, type Evictor, type ScorerInput } from '@kava/core';

const options = z.strictObject({
  share: z
    .number()
    .gt(0)
    .max(1)
    .default(0.75)
    .describe("What a layer keeps in all, as a share of H_kv·M; AdaKV divides it among the layer's heads by score."),
  floor: z
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe("AdaKV's safeguard: each head first keeps this share of the layer's mean head budget, its best tokens."),
});

/** tf.oneHot, also for depth 1 (one token, or one KV head), which tfjs refuses. */
function oneHot(indices: tf.Tensor, depth: number): tf.Tensor {
  if (depth > 1) return tf.oneHot(indices, depth);
  return tf.tidy(() => tf.slice(tf.oneHot(indices, 2), [...indices.shape.map(() => 0), 0], [...indices.shape, 1]));
}

/** Below every valid token's key (±1e38) and above padding's (−3e38): a head's guaranteed tokens. */
const TAKEN_KEY = -2e38;

/**
 * How many tokens each head of each layer keeps under AdaKV's allocation: every head first gets
 * its best g = ⌊floor · share · M⌋ tokens, then the layer's remaining ⌊share · H_kv · M⌋ − H_kv·g
 * go to the highest scores among all its heads' other tokens, whichever head they are in; a head
 * keeps at most M (the student's slots). [B, L, H_kv] int32.
 */
export function adakvBudgets(
  input: ScorerInput,
  scores: tf.Tensor,
  budget: number,
  share: number,
  floor: number,
): tf.Tensor {
  return tf.tidy(() => {
    const [B, L, Hkv, N] = scores.shape as [number, number, number, number];
    const total = Math.max(Hkv, Math.floor(share * Hkv * budget));
    const guaranteed = Math.min(N, Math.floor((floor * total) / Hkv));
    // The top-k evictor's keys: valid tokens by score (NaN lowest), padding last.
    let key = selectionKeys(input.mask, scores, undefined, input.headMask);
    if (guaranteed > 0) {
      // Each head's own best g tokens are its guarantee; they leave the shared competition.
      const own = tf.topk(key, guaranteed).indices; // [B, L, Hkv, g]
      const taken = tf.sum(oneHot(own, N), 3); // [B, L, Hkv, N]
      key = tf.where(tf.greater(taken, 0), tf.fill(key.shape, TAKEN_KEY), key);
    }
    const rest = Math.min(total - Hkv * guaranteed, Hkv * N);
    // Each of the layer's best `rest` entries counts for its head (wasm's floorDiv gives float32, hence toInt).
    const extra =
      rest > 0
        ? tf.sum(oneHot(tf.floorDiv(tf.topk(key.reshape([B, L, Hkv * N]), rest).indices, N).toInt(), Hkv), 2)
        : tf.zeros([B, L, Hkv]); // [B, L, Hkv]
    return tf.minimum(tf.add(extra, guaranteed), budget).toInt();
  });
}

export function createAdakvEvictor(raw: z.input<typeof options> = {}): Evictor {
  const { share, floor } = options.parse(raw);
  return budgetedEvictor('adakv', (input, scores, budget) => adakvBudgets(input, scores, budget, share, floor));
}

export const adakvEvictor = {
  name: 'adakv',
  description:
    'AdaKV-style budgets per head: a layer keeps share·H_kv·M tokens in all, divided among its heads by score (each head at most M, at least a floor).',
  options,
  create: (raw: Record<string, unknown>) => createAdakvEvictor(raw),
};
