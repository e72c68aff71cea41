import { tf } from '../tf.js';
import { KavaError, PluginError } from '../errors.js';
import type { EvictionResult, Evictor, GroupReduce, KVScorer, ScorerInput } from '../contracts/scorer.js';
import type { KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import type { KavaHooks } from '../plugin/hooks.js';
import { cacheHasNaN, scoresProblem } from './score-check.js';

/** A configured scorer + evictor pair, built once per run from `compression` in the config. */
export interface Compression {
  scorer: KVScorer;
  /** The plugin that registered the scorer, named when the scorer misbehaves (createCompression sets it). */
  scorerPlugin?: string;
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
    scorerPlugin: scorerReg.plugin,
    evictor: evictorReg.create(compression.evictorOptions ?? {}),
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

/** How a scorer's result must look, for the errors that blame it. */
const SCORER_CONTRACT =
  'a scorer returns float32 scores [B, L, H_kv, N], never NaN at a valid token; test it with the contract kit, @kava/core/testing';

/**
 * An error blaming the configured scorer, and its plugin when known (exit code 2): a scorer from a
 * plugin that throws or returns the wrong thing is named, not left as a bare message from inside.
 */
function scorerError(compression: Compression, what: string, cause?: unknown): KavaError {
  const message = `scorer "${compression.scorer.name}" ${what} (${SCORER_CONTRACT})`;
  const options = cause === undefined ? {} : { cause };
  return compression.scorerPlugin
    ? new PluginError(compression.scorerPlugin, message, options)
    : new KavaError(message, { ...options, exitCode: 2 });
}

/** The scorer's result for `input`; what it throws is re-thrown naming it (KavaErrors, already clear, as they are). */
function scoreWith(compression: Compression, input: ScorerInput): unknown {
  try {
    return compression.scorer.score(input);
  } catch (error) {
    if (error instanceof KavaError) throw error;
    const cache = `[B, L, H_kv, N, d] = [${input.keys.shape.join(', ')}]`;
    const message = error instanceof Error ? error.message : String(error);
    throw scorerError(compression, `threw while scoring a cache of ${cache}: ${message}`, error);
  }
}

/**
 * One compression of a teacher cache: score with the configured scorer, keep the top
 * `input.budget` per (example, layer, KV head) with the evictor, and let `compression` hook
 * taps observe the scores or replace the result (a replaced result is disposed here).
 * Scores of the wrong shape or type, or NaN at a valid token of a cache without NaN, are refused
 * naming the scorer (a NaN from a diverged cache is left to the trainer, which skips the step).
 * The scores are disposed before returning; the result is owned by the caller.
 */
export function compressCache(
  compression: Compression,
  input: ScorerInput,
  options: CompressOptions = {},
): EvictionResult {
  const { evictor } = compression;
  const scorerInput: ScorerInput = { ...input, groupReduce: input.groupReduce ?? compression.groupReduce };
  const returned = scoreWith(compression, scorerInput);
  const problem = scoresProblem(returned, input);
  if (problem && !(problem.nan && cacheHasNaN(input))) {
    if (returned instanceof tf.Tensor) returned.dispose();
    throw scorerError(compression, problem.message);
  }
  const scores = returned as Tensor;
  try {
    const result = evictor.evict(scorerInput, scores, input.budget, options.protectedMask);
    if (!options.hooks) return result;
    const final = options.hooks.compression.call(result, {
      step: options.step ?? 0,
      scorer: compression.scorer.name,
      input: scorerInput,
      scores,
      budget: input.budget,
    });
    if (final !== result)
      tf.dispose([
        result.keys,
        result.values,
        result.indices,
        result.slotMask,
        ...(result.headSlotMask ? [result.headSlotMask] : []),
      ]);
    return final;
  } finally {
    scores.dispose();
  }
}
