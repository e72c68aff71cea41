// The scorer contract as runnable checks: the invariants every built-in scorer is tested
// against, for third-party scorers to be tested against the same way (`@kava/core/testing`).
// Framework-neutral: each check is a named function that throws on a violation, so it runs
// under jest, vitest or node:test alike.
import { tf } from '../tf.js';
import type { KVScorer, ScorerInput, ScorerNeed } from '../contracts/scorer.js';
import { evictTopK } from '../compression/topk-evictor.js';
import { scoresProblem } from '../compression/score-check.js';

/** The names of the contract checks, for `skip`. */
export type ScorerContractCheck =
  'shapes' | 'needs' | 'padding' | 'budgets' | 'determinism' | 'no-tensor-leaks' | 'inputs-untouched';

export interface ScorerContractOptions {
  /** Checks not to run (say why in your test). */
  skip?: readonly ScorerContractCheck[];
  /** Seed of the random test inputs (default 1). */
  seed?: number;
  /** Largest allowed difference between scores that must be equal (default 1e-5). */
  tolerance?: number;
}

export interface ScorerContractCase {
  name: ScorerContractCheck;
  /** What the check asserts, for a test title. */
  title: string;
  /** Throws an Error naming the scorer and the violation. */
  run(): void;
}

/** The cache dimensions of the contract's inputs: GQA (2 query heads per KV head), padding in example 0. */
export const CONTRACT_DIMS = {
  B: 2,
  L: 2,
  Hkv: 2,
  groupSize: 2,
  N: 7,
  d: 4,
  validLengths: [5, 7],
  answerQueries: 3,
} as const;

/** Deterministic numbers in [−1, 1) (an LCG), so a failing input reproduces. */
function lcg(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

function randomTensor(shape: number[], rand: () => number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, rand), shape, 'float32');
}

export interface ContractInputSpec {
  /** The parts to include besides keys, mask and positions. */
  parts?: readonly ScorerNeed[];
  /** α, the number of window queries (the scorer's `window`, else 2). */
  window?: number;
  budget?: number;
  seed?: number;
  /** Scale of the padded tokens' keys and values (to check padding cannot win). */
  paddingScale?: number;
  /** Offset added to every padded key and value, to change padding content only. */
  paddingShift?: number;
}

/**
 * A random ScorerInput with the contract's dimensions (`CONTRACT_DIMS`); `dispose()` frees it.
 * Useful for a scorer's own tests too.
 */
export function contractInput(spec: ContractInputSpec = {}): ScorerInput & { dispose(): void } {
  const { B, L, Hkv, groupSize, N, d, validLengths, answerQueries: Qa } = CONTRACT_DIMS;
  const rand = lcg(spec.seed ?? 1);
  const parts = new Set<ScorerNeed>(['keys', ...(spec.parts ?? [])]);
  const maskRows = validLengths.map((n) => Array.from({ length: N }, (_, i) => (i < n ? 1 : 0)));
  const input = tf.tidy(() => {
    const mask = tf.tensor2d(maskRows);
    // padding[b, n] = 1 where token n of example b is padding, broadcast over [B, L, H, N, d]
    const padding = tf.sub(1, mask).reshape([B, 1, 1, N, 1]);
    // valid tokens as drawn; padded ones scaled by paddingScale and shifted by paddingShift
    const withPadding = (t: tf.Tensor) =>
      tf.add(
        tf.mul(t, tf.add(1, tf.mul(padding, (spec.paddingScale ?? 1) - 1))),
        tf.mul(padding, spec.paddingShift ?? 0),
      );
    const keys = withPadding(randomTensor([B, L, Hkv, N, d], rand));
    const values = withPadding(randomTensor([B, L, Hkv, N, d], rand));
    const out: Record<string, tf.Tensor> = {
      keys,
      mask,
      positions: tf.tensor2d(
        maskRows.map((row) => row.map((_, i) => 4 + i)),
        [B, N],
        'int32',
      ),
    };
    // Every part is drawn, in one order, whichever are kept: the same seed gives the same
    // numbers in each part whatever `parts` lists.
    const alpha = spec.window ?? 2;
    const answerQueries = randomTensor([B, L, Hkv * groupSize, Qa, d], rand);
    const windowQueries = randomTensor([B, L, Hkv * groupSize, alpha, d], rand);
    if (parts.has('values')) out.values = values;
    if (parts.has('answerQueries')) {
      out.answerQueries = answerQueries;
      out.answerQueryMask = tf.tensor2d([
        [1, 1, 0],
        [1, 1, 1],
      ]);
    }
    if (parts.has('windowQueries')) {
      out.windowQueries = windowQueries;
      out.windowQueryMask = tf.ones([B, alpha]);
    }
    return out;
  });
  const tensors = Object.values(input);
  return {
    ...(input as unknown as Pick<ScorerInput, 'keys' | 'values' | 'mask' | 'positions'>),
    groupSize,
    budget: spec.budget ?? 3,
    seed: spec.seed ?? 1,
    dispose: () => tf.dispose(tensors),
  };
}

const ALL_PARTS: ScorerNeed[] = ['keys', 'values', 'answerQueries', 'windowQueries'];

/**
 * The contract checks for the scorer `create()` returns (a fresh one per check):
 *
 * - shapes: `score` returns float32 [B, L, H_kv, N], never NaN at a valid token (±Infinity is
 *   allowed: rkv-decoding gives its window +∞, always kept);
 * - needs: it works on an input holding only what `needs` lists (the trainer builds no more);
 * - padding: the valid tokens' scores do not change when only the padded tokens' keys and values
 *   change, and the top-k evictor keeps no padding while valid tokens remain;
 * - budgets: for every budget from 1 to past the CoT length, eviction keeps min(budget, valid)
 *   distinct valid tokens per (example, layer, head), in position order;
 * - determinism: the same input and seed give the same scores;
 * - no-tensor-leaks: scoring leaves no tensor behind but the result;
 * - inputs-untouched: the input tensors are neither disposed nor changed.
 */
export function scorerContractCases(create: () => KVScorer, options: ScorerContractOptions = {}): ScorerContractCase[] {
  const tol = options.tolerance ?? 1e-5;
  const seed = options.seed ?? 1;
  const { N, validLengths } = CONTRACT_DIMS;
  const probe = create();
  const label = `scorer contract "${probe.name}"`;
  const fail = (check: string, what: string): never => {
    throw new Error(`${label}, ${check}: ${what}`);
  };
  const inputFor = (scorer: KVScorer, spec: ContractInputSpec = {}) =>
    contractInput({
      parts: ALL_PARTS,
      seed,
      ...(scorer.window !== undefined ? { window: scorer.window } : {}),
      ...spec,
    });
  /** Scores as nested arrays; the tensor is disposed. */
  const scoreArray = (scorer: KVScorer, input: ScorerInput): number[][][][] => {
    const s = scorer.score(input);
    try {
      return s.arraySync() as number[][][][];
    } finally {
      s.dispose();
    }
  };
  /** Runs `check` on a fresh scorer and an input made for it; the input is freed afterwards. */
  const withInput = (spec: ContractInputSpec, check: (scorer: KVScorer, input: ScorerInput) => void): void => {
    const scorer = create();
    const input = inputFor(scorer, spec);
    try {
      check(scorer, input);
    } finally {
      input.dispose();
    }
  };
  const maxDiffOnValid = (a: number[][][][], b: number[][][][]) => {
    let worst = 0;
    a.forEach((ls, bi) =>
      ls.forEach((hs, l) =>
        hs.forEach((row, h) =>
          row.forEach((v, n) => {
            const w = b[bi]![l]![h]![n]!;
            // equal infinities (an always-keep +∞) are equal; NaN is never equal
            if (n < validLengths[bi]! && v !== w)
              worst = Math.max(worst, Number.isNaN(v - w) ? Infinity : Math.abs(v - w));
          }),
        ),
      ),
    );
    return worst;
  };

  const cases: ScorerContractCase[] = [
    {
      name: 'shapes',
      title: 'returns float32 [B, L, H_kv, N] scores, never NaN at a valid token',
      run: () =>
        withInput({}, (scorer, input) => {
          const s: unknown = scorer.score(input);
          // the check every compression of a run makes, so the kit and the trainer agree
          const problem = scoresProblem(s, input);
          if (s instanceof tf.Tensor) s.dispose();
          if (problem) fail('shapes', problem.message);
        }),
    },
    {
      name: 'needs',
      title: 'works on an input holding only the parts `needs` lists',
      run() {
        const scorer = create();
        for (const need of scorer.needs)
          if (!ALL_PARTS.includes(need)) fail('needs', `unknown need "${need}" (known: ${ALL_PARTS.join(', ')})`);
        const full = inputFor(scorer);
        const only = inputFor(scorer, { parts: scorer.needs });
        try {
          const a = scoreArray(scorer, full);
          let b: number[][][][] = [];
          try {
            b = scoreArray(create(), only);
          } catch (err) {
            fail(
              'needs',
              `failed on an input with only [${scorer.needs.join(', ')}]: ${err instanceof Error ? err.message : String(err)}`,
            );
          }
          const diff = maxDiffOnValid(a, b);
          if (!(diff <= tol)) fail('needs', `scores change by ${diff} when parts outside needs are absent`);
        } finally {
          full.dispose();
          only.dispose();
        }
      },
    },
    {
      name: 'padding',
      title: 'padding content does not change valid scores, and padding is never kept while valid tokens remain',
      run() {
        const scorer = create();
        const plain = inputFor(scorer, { budget: validLengths[0] });
        // Padding made large and shifted: a scorer that reads it would now rank it highest.
        const loud = inputFor(scorer, { paddingScale: 50, paddingShift: 3, budget: validLengths[0] });
        try {
          const diff = maxDiffOnValid(scoreArray(scorer, plain), scoreArray(create(), loud));
          if (!(diff <= tol))
            fail(
              'padding',
              `valid tokens' scores change by ${diff} when only padded keys/values change (mask them out)`,
            );
          const s = create().score(loud);
          const kept = evictTopK(loud, s, validLengths[0]!);
          const indices = kept.indices.arraySync() as number[][][][];
          tf.dispose([s, kept.keys, kept.values, kept.indices, kept.slotMask]);
          indices[0]!.forEach((hs, l) =>
            hs.forEach((row, h) => {
              if (row.some((i) => i >= validLengths[0]!))
                fail('padding', `layer ${l} head ${h} keeps a padded token: [${row}]`);
            }),
          );
        } finally {
          plain.dispose();
          loud.dispose();
        }
      },
    },
    {
      name: 'budgets',
      title: 'every budget keeps min(budget, valid) distinct valid tokens in position order',
      run() {
        for (let budget = 1; budget <= N + 1; budget++) {
          withInput({ budget }, (scorer, input) => {
            let s: tf.Tensor | undefined;
            try {
              s = scorer.score(input);
            } catch (err) {
              fail('budgets', `budget ${budget}: score() threw: ${err instanceof Error ? err.message : String(err)}`);
            }
            const kept = evictTopK(input, s!, budget);
            const indices = kept.indices.arraySync() as number[][][][];
            const slots = kept.slotMask.arraySync() as number[][];
            tf.dispose([s, kept.keys, kept.values, kept.indices, kept.slotMask]);
            indices.forEach((ls, b) =>
              ls.forEach((hs, l) =>
                hs.forEach((row, h) => {
                  const filled = row.filter((_, j) => slots[b]![j] === 1);
                  const want = Math.min(budget, validLengths[b]!);
                  const where = `budget ${budget}, example ${b}, layer ${l}, head ${h}`;
                  if (filled.length !== want)
                    fail('budgets', `${where}: ${filled.length} tokens kept, expected ${want}`);
                  if (new Set(filled).size !== filled.length)
                    fail('budgets', `${where}: a token kept twice: [${filled}]`);
                  if (filled.some((i, j) => i >= validLengths[b]! || (j > 0 && i <= filled[j - 1]!))) {
                    fail('budgets', `${where}: kept [${filled}] must be valid tokens in increasing order`);
                  }
                }),
              ),
            );
          });
        }
      },
    },
    {
      name: 'determinism',
      title: 'the same input and seed give the same scores',
      run: () =>
        withInput({}, (first, input) => {
          const a = scoreArray(first, input);
          const b = scoreArray(first, input);
          const c = scoreArray(create(), input);
          const diff = Math.max(maxDiffOnValid(a, b), maxDiffOnValid(a, c));
          if (!(diff <= 0)) fail('determinism', `two calls on the same input differ by ${diff}`);
        }),
    },
    {
      name: 'no-tensor-leaks',
      title: 'scoring leaves no tensor behind but its result',
      run: () =>
        withInput({}, (scorer, input) => {
          scorer.score(input).dispose(); // first call: kernels and caches a scorer may set up once
          const before = tf.memory().numTensors;
          const s = scorer.score(input);
          const during = tf.memory().numTensors;
          s.dispose();
          const after = tf.memory().numTensors;
          if (after !== before)
            fail(
              'no-tensor-leaks',
              `${after - before} tensor(s) left after score() and disposing its result (use tf.tidy)`,
            );
          if (during !== before + 1)
            fail('no-tensor-leaks', `score() holds ${during - before} tensors, expected its one result`);
        }),
    },
    {
      name: 'inputs-untouched',
      title: 'the input tensors are neither disposed nor changed',
      run: () =>
        withInput({}, (scorer, input) => {
          const tensors = Object.entries(input).filter((e): e is [string, tf.Tensor] => e[1] instanceof tf.Tensor);
          const copies = tensors.map(([, t]) => Array.from(t.dataSync()));
          scorer.score(input).dispose();
          tensors.forEach(([field, t], i) => {
            if (t.isDisposed) fail('inputs-untouched', `input.${field} was disposed (the caller owns the input)`);
            const now = t.dataSync();
            if (now.some((v, j) => v !== copies[i]![j] && !(Number.isNaN(v) && Number.isNaN(copies[i]![j]!)))) {
              fail('inputs-untouched', `input.${field} was changed`);
            }
          });
        }),
    },
  ];
  const skip = new Set(options.skip ?? []);
  return cases.filter((c) => !skip.has(c.name));
}

/** Runs every contract check; throws the first violation. */
export function checkScorerContract(create: () => KVScorer, options: ScorerContractOptions = {}): void {
  for (const c of scorerContractCases(create, options)) c.run();
}
