import { Rng } from '../util/rng.js';

/** The first `n` items of a stream (null or undefined: all). Stops reading the source after n. */
export async function* limit<T>(
  items: AsyncIterable<T> | Iterable<T>,
  n: number | null | undefined,
): AsyncGenerator<T> {
  if (n === 0) return;
  let count = 0;
  for await (const item of items) {
    yield item;
    if (n !== null && n !== undefined && ++count >= n) return;
  }
}

/** Reads a stream into an array (optionally at most `max` items). */
export async function collect<T>(items: AsyncIterable<T> | Iterable<T>, max?: number | null): Promise<T[]> {
  const out: T[] = [];
  for await (const item of limit(items, max)) out.push(item);
  return out;
}

/** A seeded shuffle (Fisher-Yates, mulberry32): the same seed gives the same order. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle(items);
}

/**
 * Splits examples into two disjoint parts: a seeded shuffle, then the first `fraction` (or a
 * count when >= 1) go to `second` (e.g. a validation split) and the rest to `first`.
 */
export function split<T>(items: readonly T[], sizeOfSecond: number, seed: number): { first: T[]; second: T[] } {
  const n =
    sizeOfSecond >= 1
      ? Math.min(items.length, Math.floor(sizeOfSecond))
      : Math.round(items.length * Math.max(0, sizeOfSecond));
  const order = shuffle(items, seed);
  return { second: order.slice(0, n), first: order.slice(n) };
}
