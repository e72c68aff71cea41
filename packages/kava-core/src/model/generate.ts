import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { Backbone, KVCache } from '../contracts/backbone.js';
import { disposeCache } from './decoder.js';

export interface GreedyOptions {
  /** [B, S] int32 prompt ids, or `inputEmbeds` [B, S, hidden] (latent prefixes); one of the two. */
  inputIds?: tf.Tensor;
  inputEmbeds?: tf.Tensor;
  /** [B, S] 1 = real, 0 = padding (left padding keeps every row's last position real). */
  attentionMask?: tf.Tensor;
  maxNewTokens: number;
  /** Rows stop after producing it. */
  eosId?: number;
  /**
   * Reuse the KV cache (default): one forward pass over the prompt, then one per new token over
   * that token only. False recomputes the whole sequence every step (the reference path).
   */
  useCache?: boolean;
}

export interface GreedyResult {
  /** New tokens per row, up to and excluding `eosId`. */
  tokens: number[][];
  /** Forward passes run. */
  forwardPasses: number;
}

/**
 * Greedy decoding. The prompt's last position must be real in every row (left-pad batches);
 * positions follow the mask, so a padded row decodes exactly as it would alone.
 */
export function generateGreedy(backbone: Backbone, options: GreedyOptions): GreedyResult {
  const { maxNewTokens, eosId } = options;
  if ((options.inputIds === undefined) === (options.inputEmbeds === undefined))
    throw new KavaError('generateGreedy: give exactly one of inputIds and inputEmbeds');
  const prompt = tf.tidy(() =>
    options.inputEmbeds ? tf.clone(options.inputEmbeds) : backbone.embed(options.inputIds!),
  );
  const [B, S] = prompt.shape as [number, number];
  let mask = options.attentionMask ? tf.cast(options.attentionMask, 'float32') : tf.ones([B, S]);
  if (options.attentionMask === mask) mask = tf.clone(mask);
  const lastReal = tf.tidy(() => tf.slice(mask, [0, S - 1], [B, 1]).dataSync());
  if (lastReal.some((v) => v === 0)) {
    prompt.dispose();
    mask.dispose();
    throw new KavaError("generateGreedy: every row's last prompt position must be a real token (pad on the left)");
  }
  const tokens: number[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  let passes = 0;
  let cache: KVCache | undefined;
  let sequence = prompt; // no-cache path: the whole sequence's embeddings
  let next: tf.Tensor = prompt; // cache path: what the next pass reads
  let nextMask = mask;
  try {
    for (let step = 0; step < maxNewTokens && !done.every(Boolean); step++) {
      const useCache = options.useCache ?? true;
      const out = backbone.forward(
        useCache
          ? { inputEmbeds: next, attentionMask: nextMask, cache, returnCache: true, logits: 'last' }
          : { inputEmbeds: sequence, attentionMask: nextMask, logits: 'last' },
      );
      passes++;
      const ids = tf.tidy(() => {
        const logits = out.logits!;
        const last = tf.squeeze(tf.slice(logits, [0, logits.shape[1]! - 1, 0], [B, 1, -1]), [1]);
        return tf.cast(tf.argMax(last, -1), 'int32');
      });
      out.logits!.dispose();
      const chosen = Array.from(ids.dataSync());
      chosen.forEach((id, b) => {
        if (done[b]) return;
        if (id === eosId) done[b] = true;
        else tokens[b]!.push(id);
      });
      const embedded = tf.tidy(() => backbone.embed(tf.reshape(ids, [B, 1])));
      ids.dispose();
      if (useCache) {
        disposeCache(cache);
        cache = out.cache!;
        if (next !== prompt) next.dispose();
        next = embedded;
        if (nextMask !== mask) nextMask.dispose();
        nextMask = tf.ones([B, 1]);
      } else {
        const grown = tf.concat([sequence, embedded], 1);
        const grownMask = tf.tidy(() => tf.concat([nextMask, tf.ones([B, 1])], 1));
        embedded.dispose();
        if (sequence !== prompt) sequence.dispose();
        if (nextMask !== mask) nextMask.dispose();
        sequence = grown;
        nextMask = grownMask;
      }
    }
  } finally {
    disposeCache(cache);
    tf.dispose([prompt, mask]);
    if (next !== prompt) next.dispose();
    if (sequence !== prompt) sequence.dispose();
    if (nextMask !== mask) nextMask.dispose();
  }
  return { tokens, forwardPasses: passes };
}
