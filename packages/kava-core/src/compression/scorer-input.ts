import { KavaError } from '../errors.js';
import type { KVScorer, ScorerInput, ScorerNeed } from '../contracts/scorer.js';

const QUERY_FIELDS = {
  answerQueries: 'answerQueryMask',
  windowQueries: 'windowQueryMask',
} as const;

/** The cache dimensions of a scorer input: examples, layers, KV heads, CoT tokens, head size. */
export interface CacheDims {
  B: number;
  L: number;
  Hkv: number;
  N: number;
  d: number;
}

/**
 * Checks that `input` has the shapes the contract promises and the parts `needs` names, so a
 * trainer that builds the wrong input gets an error naming the scorer and the field instead of
 * a shape error deep inside tfjs. Returns the cache dimensions.
 */
export function checkScorerInput(
  input: ScorerInput,
  scorer: string,
  needs: readonly ScorerNeed[] = ['keys'],
): CacheDims {
  const fail = (what: string): never => {
    throw new KavaError(`scorer "${scorer}": ${what}`);
  };
  const { keys, mask, positions } = input;
  if (!keys || keys.rank !== 5) fail(`keys must be [B, L, H_kv, N, d], got ${keys ? `[${keys.shape}]` : 'nothing'}`);
  const [B, L, Hkv, N, d] = keys.shape as [number, number, number, number, number];
  if (!mask || mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== N)
    fail(`mask must be [${B}, ${N}], got ${mask ? `[${mask.shape}]` : 'nothing'}`);
  if (!positions || positions.rank !== 2 || positions.shape[0] !== B || positions.shape[1] !== N) {
    fail(`positions must be [${B}, ${N}], got ${positions ? `[${positions.shape}]` : 'nothing'}`);
  }
  if (!Number.isInteger(input.groupSize) || input.groupSize < 1)
    fail(`groupSize must be a positive integer, got ${input.groupSize}`);
  if (!Number.isInteger(input.budget) || input.budget < 1)
    fail(`budget must be a positive integer, got ${input.budget}`);
  if (needs.includes('values')) {
    const v = input.values;
    if (!v || v.shape.join() !== keys.shape.join())
      fail(`values must have the keys' shape [${keys.shape}], got ${v ? `[${v.shape}]` : 'nothing'}`);
  }
  for (const field of ['answerQueries', 'windowQueries'] as const) {
    if (!needs.includes(field)) continue;
    const q = input[field];
    if (!q) fail(`needs ${field}, which the input does not have (the trainer builds what "needs" lists)`);
    const [qb, ql, qh, , qd] = q!.shape;
    if (q!.rank !== 5 || qb !== B || ql !== L || qh !== Hkv * input.groupSize || qd !== d) {
      fail(
        `${field} must be [${B}, ${L}, ${Hkv * input.groupSize}, Q, ${d}] (H = H_kv · groupSize), got [${q!.shape}]`,
      );
    }
    const qmask = input[QUERY_FIELDS[field]];
    if (qmask && (qmask.rank !== 2 || qmask.shape[0] !== B || qmask.shape[1] !== q!.shape[3])) {
      fail(`${QUERY_FIELDS[field]} must be [${B}, ${q!.shape[3]}], got [${qmask.shape}]`);
    }
  }
  return { B, L, Hkv, N, d };
}

/**
 * α, how many window queries to build for `scorer`: its `window` when it needs "windowQueries",
 * else 0. The default lives in the scorer's option schema only, so a scorer that needs window
 * queries but sets no window is an error rather than a silent second default.
 */
export function windowQueryCount(scorer: Pick<KVScorer, 'name' | 'needs' | 'window'>): number {
  if (!scorer.needs.includes('windowQueries')) return 0;
  const { window } = scorer;
  if (window === undefined || !Number.isInteger(window) || window < 1) {
    throw new KavaError(
      `scorer "${scorer.name}": needs windowQueries, so "window" must be a positive integer, got ${window}`,
    );
  }
  return window;
}
