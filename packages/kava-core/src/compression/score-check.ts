import { tf } from '../tf.js';
import type { ScorerInput } from '../contracts/scorer.js';
import { expandTokenMask } from './masked.js';

/** What is wrong with a scorer's result: `message` follows the scorer's name ("returned ..."). */
export interface ScoresProblem {
  /** The scores are NaN at a valid token (shape and dtype are right). */
  nan: boolean;
  message: string;
}

/** A value that should have been a tensor, in a few words. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null || value === undefined ? String(value) : `a ${typeof value}`;
}

/** [b, l, h, n] of flat index `i` in a tensor of `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    out.unshift(i % shape[axis]!);
    i = Math.floor(i / shape[axis]!);
  }
  return out;
}

/** A boolean scalar computed on the backend, read and freed. */
function flag(compute: () => tf.Tensor): boolean {
  const t = tf.tidy(compute);
  try {
    return t.dataSync()[0] === 1;
  } finally {
    t.dispose();
  }
}

/** Where the first NaN score at a valid token is, or undefined (one scalar read when there is none). */
function firstNaNAtValidToken(scores: tf.Tensor, mask: tf.Tensor): number[] | undefined {
  const bad = tf.tidy(() => tf.logicalAnd(tf.isNaN(scores), tf.greater(expandTokenMask(mask, 4), 0)));
  try {
    if (!flag(() => tf.any(bad))) return undefined;
    return unravel(bad.dataSync().indexOf(1), scores.shape);
  } finally {
    bad.dispose();
  }
}

/**
 * The scorer contract's check of a result (KVScorer.score): float32 scores of shape
 * [B, L, H_kv, N] for `input`, never NaN at a valid token (±Infinity is allowed: rkv-decoding
 * gives its window +∞, always kept; padding may hold anything). One check for the contract kit
 * (@kava/core/testing) and for every compression a run makes. Undefined when the scores are fine;
 * the scores are only read, never disposed.
 */
export function scoresProblem(scores: unknown, input: ScorerInput): ScoresProblem | undefined {
  const expected = input.keys.shape.slice(0, 4);
  const want = `float32 [B, L, H_kv, N] = [${expected.join(', ')}]`;
  if (!(scores instanceof tf.Tensor))
    return { nan: false, message: `returned ${describe(scores)}, not a tensor; expected ${want}` };
  if (scores.shape.join() !== expected.join())
    return { nan: false, message: `returned scores of shape [${scores.shape.join(', ')}], expected ${want}` };
  if (scores.dtype !== 'float32') return { nan: false, message: `returned ${scores.dtype} scores, expected ${want}` };
  // the NaN check reads the mask: a scorer that freed it is named, not a bare "Tensor is disposed"
  if (input.mask.isDisposed) return { nan: false, message: 'disposed input.mask, which the caller owns' };
  const at = firstNaNAtValidToken(scores, input.mask);
  if (!at) return undefined;
  const [b, l, h, n] = at;
  return {
    nan: true,
    message: `returned NaN for valid token ${n} of example ${b} (layer ${l}, KV head ${h}); scores must be numbers (±Infinity is allowed)`,
  };
}

/**
 * Whether the cache a scorer read holds a NaN. Then a NaN score is the cache's (a diverged step,
 * which the trainer skips), not the scorer's fault.
 */
export function cacheHasNaN(input: ScorerInput): boolean {
  const parts = [input.keys, input.values, input.answerQueries, input.windowQueries].filter(
    (t): t is tf.Tensor => t !== undefined,
  );
  return parts.some((t) => flag(() => tf.any(tf.isNaN(t))));
}
