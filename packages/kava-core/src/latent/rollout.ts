import { tf } from '../tf.js';
import type { Backbone, KVCache } from '../contracts/backbone.js';
import type { Projection } from './projection.js';
import { rowsAt } from '../ops/rows-at.js';
import { deriveSeed } from '../util/rng.js';
import { KavaError } from '../errors.js';

type Tensor = tf.Tensor;

/** How the student thinks (KAVA-METHOD.md §2). */
export interface LatentSettings {
  /** M latent tokens. */
  count: number;
  mode: 'jacobi' | 'autoregressive';
  /** Jacobi iterations T (0 = pause tokens). */
  iterations: number;
  /** Maps a hidden state to the next latent's input; null feeds the hidden state directly. */
  projection: Projection | null;
  /** Token whose embedding fills not-yet-computed Jacobi slots (`<latent>`). */
  placeholderId: number;
}

/** The student's prompt and answer segment, as padded id tensors (the caller owns them). */
export interface StudentBatch {
  /** [B, P] int32 `Q <bot>`, right-padded. */
  prefixIds: Tensor;
  /** [B, P] 1 for real tokens. */
  prefixMask: Tensor;
  /** [B] int32 index of each row's `<bot>` (its last real prefix token). */
  prefixLast: Tensor;
  /** [B, A] int32 the tokens after the latents (`<eot> "The answer is:" A <eos>` in training, `<eot> "The answer is:"` at inference), right-padded. */
  segmentIds: Tensor;
  /** [B, A] 1 for real tokens. */
  segmentMask: Tensor;
}

/** What the student pass produced. Every tensor is owned by the caller. */
export interface StudentResult {
  /** [B, M + A, V] logits of the final pass (latents then segment); absent unless asked. */
  logits?: Tensor;
  /** Per layer [B, M + A, hidden] hidden states of the final pass (L + 1 entries); absent unless asked. */
  hidden?: Tensor[];
  /** [B, L, H_kv, M, d] latent-slot keys (post-RoPE) and values the segment attends to; absent unless asked. */
  latentKeys?: Tensor;
  latentValues?: Tensor;
  /** The full cache after the final pass (prefix + latents + segment); only when asked. */
  cache?: KVCache;
  /** Forward passes run (prefix, latent refinement, final). */
  forwardPasses: number;
}

export interface StudentOptions {
  logits?: boolean;
  hidden?: boolean;
  kv?: boolean;
  returnCache?: boolean;
  training?: boolean;
  /** Seed of the adapter dropout in training: pass k of the rollout derives its own from it and k. */
  seed?: number;
  /**
   * Called after each pass that runs latents (each Jacobi iteration or autoregressive step, then
   * the final pass) with the latents' inputs [B, m, D] and the logits at their positions
   * [B, m, V]; `first` is the index of the pass's first latent. For looking at what the latents
   * hold (`kava infer --show-latents`); the tensors are only valid during the call.
   */
  observe?: (pass: LatentPass) => void;
  /**
   * What fills the latent slots of the final pass (the latent-usage check, `eval.latentUsage`):
   * the rollout's own latents (default); "shuffled", the latents of another question of the batch
   * (row b takes row b + 1's, so no row keeps its own; needs B ≥ 2); or "placeholder", the
   * `<latent>` embedding in every slot with no rollout at all. A model whose accuracy survives
   * both does not use its latents.
   */
  latents?: LatentSource;
}

export const LATENT_SOURCES = ['rollout', 'shuffled', 'placeholder'] as const;
export type LatentSource = (typeof LATENT_SOURCES)[number];

/** One pass of latents, as `StudentOptions.observe` sees it. */
export interface LatentPass {
  first: number;
  inputs: Tensor;
  logits: Tensor;
}

const last = (hidden: Tensor[] | undefined) => hidden![hidden!.length - 1]!;

/**
 * The student pass: `Q <bot>`, then M latent thoughts, then the segment after them, in
 * 1 + T + 1 forward passes (Jacobi) or 1 + (M − 1) + 1 (autoregressive).
 *
 * Jacobi (PCCoT): e⁽⁰⁾ = [prj(h_bot), <latent>, …]; for t = 1..T all M latents run in parallel
 * against the cached prefix and e⁽ᵗ⁾ = [e⁽ᵗ⁻¹⁾₁, prj(h₁), …, prj(h_{M−1})] (shifted; the first latent
 * stays fixed). The final pass runs e⁽ᵀ⁾ together with the segment, so the segment attends to the
 * latents' KV of that pass and T = 0 is pause tokens. No detach between iterations.
 * Autoregressive (CODI): z₁ = prj(h_bot), z_{j+1} = prj(h_j), one latent per pass with the cache;
 * the last latent runs with the segment.
 * Call it inside tf.tidy (or a gradient tape, which tidies): intermediate caches and states are
 * left to the enclosing scope, and what the caller keeps is what it returns from that scope.
 */
export function studentForward(
  backbone: Backbone,
  settings: LatentSettings,
  batch: StudentBatch,
  options: StudentOptions = {},
): StudentResult {
  const { count: M, projection } = settings;
  const training = options.training ?? false;
  const observe = options.observe;
  const prj = (h: Tensor) => (projection ? projection.apply(h) : h);
  const B = batch.prefixIds.shape[0]!;
  let passes = 0;
  // The dropout seed of the pass about to run (pass index = its site); none when unseeded.
  const passSeed = () => (options.seed === undefined ? {} : { seed: deriveSeed(options.seed, passes) });

  const prefix = backbone.forward({
    inputIds: batch.prefixIds,
    attentionMask: batch.prefixMask,
    returnCache: true,
    hidden: true,
    logits: false,
    training,
    ...passSeed(),
  });
  passes++;
  const prefixCache = prefix.cache!;
  const hBot = rowsAt(last(prefix.hidden), batch.prefixLast);

  let latents: Tensor; // inputs of the latents that run in the final pass
  let latentCache: KVCache = prefixCache; // what the final pass attends to
  let cachedLatents = 0; // latents already in latentCache (autoregressive)
  const source = options.latents ?? 'rollout';
  if (source === 'shuffled' && B < 2)
    throw new KavaError(
      "shuffled latents need at least 2 questions in a batch (each takes another question's latents)",
    );
  const first = tf.expandDims(prj(hBot), 1); // [B, 1, D]
  const earlier: Tensor[] = []; // autoregressive: the inputs of the latents already cached
  if (source === 'placeholder') {
    latents = backbone.embed(tf.fill([B, M], settings.placeholderId, 'int32'));
  } else if (settings.mode === 'jacobi') {
    const placeholder = backbone.embed(tf.fill([B, Math.max(M - 1, 0)], settings.placeholderId, 'int32'));
    let e = M > 1 ? tf.concat([first, placeholder], 1) : first;
    for (let t = 0; t < settings.iterations; t++) {
      const out = backbone.forward({
        inputEmbeds: e,
        cache: prefixCache,
        hidden: true,
        logits: observe !== undefined,
        training,
        ...passSeed(),
      });
      passes++;
      observe?.({ first: 0, inputs: e, logits: out.logits! });
      const h = last(out.hidden);
      e = M > 1 ? tf.concat([first, prj(tf.slice(h, [0, 0, 0], [B, M - 1, -1]))], 1) : first;
    }
    latents = e;
  } else {
    let z = first;
    for (let j = 0; j < M - 1; j++) {
      const out = backbone.forward({
        inputEmbeds: z,
        cache: latentCache,
        hidden: true,
        logits: observe !== undefined,
        returnCache: true,
        training,
        ...passSeed(),
      });
      passes++;
      observe?.({ first: j, inputs: z, logits: out.logits! });
      latentCache = out.cache!;
      cachedLatents++;
      earlier.push(z);
      z = prj(last(out.hidden));
    }
    latents = z;
  }
  if (source === 'shuffled') {
    // All M latent inputs of each row, given to the next row: the final pass reruns them in one
    // causal pass over the prefix (for autoregressive latents the same arithmetic as one at a time).
    const all = earlier.length ? tf.concat([...earlier, latents], 1) : latents;
    const next = Array.from({ length: B }, (_, b) => (b + 1) % B);
    latents = tf.gather(all, tf.tensor1d(next, 'int32'));
    latentCache = prefixCache;
    cachedLatents = 0;
  }

  const segment = backbone.embed(batch.segmentIds);
  const inputs = tf.concat([latents, segment], 1);
  const lastLatents = latents.shape[1]!;
  const mask = tf.concat([tf.ones([B, lastLatents], 'int32'), tf.cast(batch.segmentMask, 'int32')], 1);
  const final = backbone.forward({
    inputEmbeds: inputs,
    attentionMask: mask,
    cache: latentCache,
    logits: (options.logits ?? true) || observe !== undefined,
    hidden: options.hidden ?? false,
    kv: options.kv ? 'post-rope' : false,
    returnCache: options.returnCache ?? false,
    training,
    ...passSeed(),
  });
  passes++;
  observe?.({
    first: cachedLatents,
    inputs: latents,
    logits: tf.slice(final.logits!, [0, 0, 0], [B, lastLatents, -1]),
  });

  const result: StudentResult = { forwardPasses: passes };
  if (final.logits && (options.logits ?? true)) result.logits = final.logits;
  if (final.hidden) result.hidden = final.hidden;
  if (final.cache) result.cache = final.cache;
  if (options.kv) {
    const P = prefixCache.length;
    // Latent K/V: those already cached (autoregressive) plus the ones run in the final pass.
    // Layers are joined as flat rows of a rank-3 tensor and reshaped to [B, L, H_kv, M, d]: the
    // gradient of a rank-5 tf.stack is an Unpack that hits wasm's slow generic rank-5 Slice.
    const gather = (cached: Tensor[], fresh: Tensor[]) => {
      const perLayer = fresh.map((f, l) => {
        const now = tf.slice(f, [0, 0, 0, 0], [-1, -1, lastLatents, -1]);
        return cachedLatents === 0
          ? now
          : tf.concat([tf.slice(cached[l]!, [0, 0, P, 0], [-1, -1, cachedLatents, -1]), now], 2);
      });
      const [b, h, m, d] = perLayer[0]!.shape as [number, number, number, number];
      return tf.reshape(
        tf.concat(
          perLayer.map((t) => tf.reshape(t, [b, 1, h * m * d])),
          1,
        ),
        [b, perLayer.length, h, m, d],
      );
    };
    result.latentKeys = gather(latentCache.keys, final.keys!);
    result.latentValues = gather(latentCache.values, final.values!);
  }
  return result;
}
