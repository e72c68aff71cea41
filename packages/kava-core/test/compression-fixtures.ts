// Shared by the compression tests of core and the scorer plugins: input builders and
// straightforward loop implementations (independent of the tensor code they check).
import { tf, evictTopK, type KVScorer, type ScorerInput } from '@kava/core';

export type Nested = number | Nested[];
export type Arr2 = number[][];
export type Arr4 = number[][][][];
export type Arr5 = number[][][][][];

/** Deterministic pseudo-random numbers in [−1, 1) (LCG), so failures reproduce. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

export function randomArray(shape: number[], rand: () => number): Nested {
  if (shape.length === 0) return rand();
  return Array.from({ length: shape[0]! }, () => randomArray(shape.slice(1), rand));
}

export interface InputSpec {
  keys: Arr5;
  values?: Arr5;
  mask: Arr2;
  answerQueries?: Arr5;
  answerQueryMask?: Arr2;
  windowQueries?: Arr5;
  windowQueryMask?: Arr2;
  groupSize?: number;
  budget: number;
  seed?: number;
  groupReduce?: 'max' | 'mean';
}

/** A ScorerInput from nested arrays; `dispose` frees every tensor in it. */
export function makeInput(spec: InputSpec): ScorerInput & { dispose(): void } {
  const B = spec.mask.length;
  const N = spec.mask[0]!.length;
  const keys = tf.tensor(spec.keys);
  const input: ScorerInput = {
    keys,
    values: spec.values ? tf.tensor(spec.values) : tf.neg(keys),
    mask: tf.tensor2d(spec.mask),
    positions: tf.tensor2d(
      spec.mask.map((row) => row.map((_, i) => 5 + i)),
      [B, N],
      'int32',
    ),
    groupSize: spec.groupSize ?? 1,
    budget: spec.budget,
    seed: spec.seed ?? 0,
  };
  if (spec.groupReduce) input.groupReduce = spec.groupReduce;
  if (spec.answerQueries) input.answerQueries = tf.tensor(spec.answerQueries);
  if (spec.answerQueryMask) input.answerQueryMask = tf.tensor2d(spec.answerQueryMask);
  if (spec.windowQueries) input.windowQueries = tf.tensor(spec.windowQueries);
  if (spec.windowQueryMask) input.windowQueryMask = tf.tensor2d(spec.windowQueryMask);
  return {
    ...input,
    dispose: () => tf.dispose(Object.values(input).filter((v): v is tf.Tensor => v instanceof tf.Tensor)),
  };
}

/** Scores as nested arrays, and the indices the top-k evictor keeps from them. */
export function scoreAndKeep(scorer: KVScorer, input: ScorerInput): { scores: Arr4; kept: Arr4 } {
  const scores = scorer.score(input);
  const result = evictTopK(input, scores, input.budget);
  const out = { scores: scores.arraySync() as Arr4, kept: result.indices.arraySync() as Arr4 };
  tf.dispose([scores, result.keys, result.values, result.indices, result.slotMask]);
  return out;
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
export const cosine = (a: number[], b: number[]) => {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
};

/** softmax over the entries where valid[i], 0 elsewhere. */
export function softmaxValid(x: number[], valid: boolean[]): number[] {
  const m = Math.max(...x.filter((_, i) => valid[i]));
  const e = x.map((v, i) => (valid[i] ? Math.exp(v - m) : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Per query: attention over the valid tokens, GQA-reduced on the logits. Returns
 * [B][L][Hkv][Q][N] probabilities (an independent loop version of cotAttention).
 */
export function loopAttention(
  queries: Arr5,
  keys: Arr5,
  valid: boolean[][],
  groupSize: number,
  reduce: 'max' | 'mean',
): Arr5 {
  return keys.map((layers, b) =>
    layers.map((heads, l) =>
      heads.map((tokens, h) => {
        const d = tokens[0]!.length;
        const Q = queries[b]![l]![0]!.length;
        return Array.from({ length: Q }, (_, q) => {
          const logits = tokens.map((k) => {
            const perHead = Array.from(
              { length: groupSize },
              (_, g) => dot(queries[b]![l]![h * groupSize + g]![q]!, k) / Math.sqrt(d),
            );
            return reduce === 'max' ? Math.max(...perHead) : perHead.reduce((s, v) => s + v, 0) / groupSize;
          });
          return softmaxValid(logits, valid[b]!);
        });
      }),
    ),
  );
}

/** KaVa importance by loops: mean over the real queries of loopAttention. [B][L][Hkv][N]. */
export function loopImportance(
  queries: Arr5,
  queryMask: Arr2,
  keys: Arr5,
  mask: Arr2,
  groupSize: number,
  reduce: 'max' | 'mean',
): Arr4 {
  const probs = loopAttention(
    queries,
    keys,
    mask.map((r) => r.map((v) => v > 0)),
    groupSize,
    reduce,
  );
  return probs.map((layers, b) =>
    layers.map((heads) =>
      heads.map((perQuery) => {
        const real = perQuery.filter((_, q) => queryMask[b]![q]! > 0);
        return perQuery[0]!.map((_, i) => real.reduce((s, row) => s + row[i]!, 0) / real.length);
      }),
    ),
  );
}

/** Applies a token permutation (new token t = old token perm[t]) to the last-but-one axis of keys. */
export function permuteTokens<T>(rows: T[], perm: number[]): T[] {
  return perm.map((p) => rows[p]!);
}

/** Close-to check on nested arrays that reports the first mismatch. */
export function expectClose(actual: Nested, expected: Nested, tol = 1e-5, path = ''): void {
  if (typeof expected === 'number') {
    if (!Number.isFinite(expected)) {
      if (actual !== expected) throw new Error(`at ${path || '(root)'}: expected ${expected}, got ${String(actual)}`);
      return;
    }
    if (typeof actual !== 'number' || !(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)))) {
      throw new Error(`at ${path || '(root)'}: expected ${expected}, got ${JSON.stringify(actual)}`);
    }
    return;
  }
  if (!Array.isArray(actual) || actual.length !== expected.length) {
    throw new Error(`at ${path || '(root)'}: expected an array of ${expected.length}, got ${JSON.stringify(actual)}`);
  }
  expected.forEach((e, i) => expectClose((actual as Nested[])[i]!, e, tol, `${path}[${i}]`));
}
