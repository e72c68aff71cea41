import { z, type ZodType } from 'zod';
import { tf } from '../tf.js';
import type { KVScorer, ScorerInput, ScorerNeed } from '../contracts/scorer.js';
import { NO_OPTIONS, type DefinedPart, type Registry, type ScorerRegistration } from '../plugin/registry.js';
import { checkScorerInput, type CacheDims } from './scorer-input.js';
import { parseScorerOptions } from './scorer-options.js';

/** What a scorer author writes: its name, its options and its idea; `defineScorer` does the rest. */
export interface ScorerDefinition<S extends ZodType> {
  /** What users write in `compression.scorer`. */
  name: string;
  /** One line for `kava plugins`. */
  description: string;
  /** Schema of `compression.options` (use z.strictObject); absent: the scorer takes no options. */
  options?: S;
  /** The inputs `score` reads (default ["keys"]), fixed or chosen by the options. */
  needs?: readonly ScorerNeed[] | ((options: z.output<S>) => readonly ScorerNeed[]);
  /** With `needs` "windowQueries": α, how many of the last CoT tokens' queries to pass. */
  window?: (options: z.output<S>) => number;
  /**
   * The idea: scores [B, L, H_kv, N], or [B, N] for one score per token on every layer and head
   * (higher = keep). Runs inside tf.tidy on an input already checked against `needs`, with the
   * options parsed and defaulted; padding and top-M selection are the evictor's job.
   */
  score(input: ScorerInput, options: z.output<S>, dims: CacheDims): tf.Tensor;
}

/**
 * A scorer registration made by `defineScorer`: `create` parses raw options, `build` takes parsed
 * ones. It is also a plugin of its own (named like the scorer), so a file whose default export is
 * a defined scorer can be listed in `plugins` as it is.
 */
export interface DefinedScorer<O>
  extends Omit<ScorerRegistration, 'build' | 'create' | 'options'>, DefinedPart<O, KVScorer> {}

/**
 * Defines a KV scorer from its idea. The options are parsed and defaulted once, by the schema;
 * the input check, tf.tidy and broadcasting a per-token score to every layer and head live here,
 * so a scorer is only its `score`. Register the result with `registry.scorer(...)` in a plugin,
 * or make it a file's default export and list that file in `plugins`.
 */
export function defineScorer<S extends ZodType = typeof NO_OPTIONS>(
  definition: ScorerDefinition<S>,
): DefinedScorer<z.output<S>> {
  const { name, description } = definition;
  const schema: ZodType = definition.options ?? NO_OPTIONS;
  const build = (options: z.output<S>): KVScorer => {
    const needs = typeof definition.needs === 'function' ? definition.needs(options) : (definition.needs ?? ['keys']);
    const window = definition.window?.(options);
    return {
      name,
      needs,
      ...(window !== undefined ? { window } : {}),
      score(input: ScorerInput) {
        const dims = checkScorerInput(input, name, needs);
        return tf.tidy(() => perHead(definition.score(input, options, dims), dims));
      },
    };
  };
  const defined: DefinedScorer<z.output<S>> = {
    name,
    description,
    options: schema,
    build,
    create: (raw) => build(parseScorerOptions(name, schema, raw) as z.output<S>),
    // (the typed options make `build` narrower than the registry's untyped view of it)
    register: (registry) => registry.scorer(defined as unknown as ScorerRegistration),
  };
  return defined;
}

/** A [B, N] score repeated over layers and KV heads; a [B, L, H_kv, N] one as it is. */
function perHead(scores: tf.Tensor, { B, L, Hkv, N }: CacheDims): tf.Tensor {
  if (scores.rank !== 2) return scores;
  return tf.broadcastTo(scores.reshape([B, 1, 1, N]), [B, L, Hkv, N]).clone();
}
