import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { EvictionResult, Evictor, GroupReduce, KVScorer, ScorerInput } from '../contracts/scorer.js';
import type { KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import type { KavaHooks } from '../plugin/hooks.js';

/** A configured scorer + evictor pair, built once per run from `compression` in the config. */
export interface Compression {
  scorer: KVScorer;
  evictor: Evictor;
  /** `compression.groupReduce`, passed to scorers whose input does not set it. */
  groupReduce: GroupReduce;
}

/**
 * Builds the scorer and evictor the config names. `compression.options` must already be
 * validated by the scorer's schema (resolveConfig does it); swapping `compression.scorer`
 * needs no other change.
 */
export function createCompression(compression: KavaConfig['compression'], registry: Registry): Compression {
  const scorerReg = registry.get('scorer', compression.scorer, 'compression.scorer');
  const evictorReg = registry.get('evictor', compression.evictor, 'compression.evictor');
  return {
    // The loader parsed the options already: a scorer that can take them parsed is not re-parsed.
    scorer: scorerReg.build ? scorerReg.build(compression.options) : scorerReg.create(compression.options),
    evictor: evictorReg.create({}),
    groupReduce: compression.groupReduce,
  };
}

export interface CompressOptions {
  /** Hooks to notify: `compression` sees the scores and may replace the result. */
  hooks?: KavaHooks;
  /** Training step, for the hook. */
  step?: number;
  /** [B, N] CoT tokens to keep while the budget allows. */
  protectedMask?: Tensor;
}
type Tensor = tf.Tensor;

/**
 * One compression of a teacher cache: score with the configured scorer, keep the top
 * `input.budget` per (example, layer, KV head) with the evictor, and let `compression` hook
 * taps observe the scores or replace the result (a replaced result is disposed here).
 * The scores are disposed before returning; the result is owned by the caller.
 */
export function compressCache(
  compression: Compression,
  input: ScorerInput,
  options: CompressOptions = {},
): EvictionResult {
  const { scorer, evictor } = compression;
  const scorerInput: ScorerInput = { ...input, groupReduce: input.groupReduce ?? compression.groupReduce };
  const scores = scorer.score(scorerInput);
  try {
    const expected = [...input.keys.shape.slice(0, 4)];
    if (scores.shape.join() !== expected.join()) {
      throw new KavaError(
        `scorer "${scorer.name}" returned scores of shape [${scores.shape}], expected [B, L, H_kv, N] = [${expected}]`,
      );
    }
    const result = evictor.evict(scorerInput, scores, input.budget, options.protectedMask);
    if (!options.hooks) return result;
    const final = options.hooks.compression.call(result, {
      step: options.step ?? 0,
      scorer: scorer.name,
      input: scorerInput,
      scores,
      budget: input.budget,
    });
    if (final !== result) tf.dispose([result.keys, result.values, result.indices, result.slotMask]);
    return final;
  } finally {
    scores.dispose();
  }
}
