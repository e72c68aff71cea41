import type { z, ZodType } from 'zod';
import { parseOrThrow } from '../config/errors.js';

/**
 * Parses a scorer's options with its schema (filling defaults), so `create()` accepts both the
 * options the config loader already validated and a raw object from code. Errors are
 * ConfigErrors naming the scorer and the `compression.options.<key>` path.
 */
export function parseScorerOptions<T extends ZodType>(scorer: string, schema: T, options: unknown): z.output<T> {
  return parseOrThrow(schema, options ?? {}, `scorer "${scorer}"`, ['compression', 'options']);
}
