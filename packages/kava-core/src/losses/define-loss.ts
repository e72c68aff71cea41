import { z, type ZodType } from 'zod';
import type { tf } from '../tf.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import { NO_OPTIONS, type DefinedPart, type LossRegistration, type Registry } from '../plugin/registry.js';
import { parseOrThrow } from '../config/errors.js';

/** What a loss author writes: its name, its options, what it reads and its formula. */
export interface LossDefinition<S extends ZodType> {
  /** The key under `losses` in the config. */
  name: string;
  /** One line for `kava plugins`. */
  description: string;
  /** Schema of `losses.<name>` besides `weight` (use z.strictObject); absent: no options. */
  options?: S;
  /** The parts of LossInputs it reads; the trainer skips building what no active term needs. */
  needs: LossTerm['needs'];
  /**
   * The term: an unweighted scalar, with the options parsed and defaulted. Runs inside the
   * optimiser's gradient tape; teacher targets go through `stopGradient`.
   */
  compute(inputs: LossInputs, options: z.output<S>): tf.Tensor;
}

/**
 * A loss registration made by `defineLoss`: `create` parses raw options, `build` takes parsed
 * ones. Like a defined scorer it is also a one-part plugin of its own.
 */
export interface DefinedLoss<O>
  extends Omit<LossRegistration, 'build' | 'create' | 'options'>, DefinedPart<O, LossTerm> {}

/**
 * Defines a loss term from its formula: the options are parsed and defaulted once, by the
 * schema, and typed in `compute`. Register the result with `registry.loss(...)` in a plugin, or
 * make it a file's default export and list that file in `plugins`.
 */
export function defineLoss<S extends ZodType = typeof NO_OPTIONS>(
  definition: LossDefinition<S>,
): DefinedLoss<z.output<S>> {
  const { name, description, needs } = definition;
  const schema: ZodType = definition.options ?? NO_OPTIONS;
  const build = (options: z.output<S>): LossTerm => ({
    name,
    needs,
    compute: (inputs) => definition.compute(inputs, options),
  });
  const defined: DefinedLoss<z.output<S>> = {
    name,
    description,
    options: schema,
    build,
    create: (raw) => build(parseOrThrow(schema, raw ?? {}, `loss "${name}"`, ['losses', name]) as z.output<S>),
    // (the typed options make `build` narrower than the registry's untyped view of it)
    register: (registry) => registry.loss(defined as unknown as LossRegistration),
  };
  return defined;
}
