import {
  z,
  initBackend,
  loadPlugins,
  Registry,
  registerCompression,
  createAttentionScorer,
  createFirstScorer,
  createKnormScorer,
  createRandomScorer,
  createRecentScorer,
  createUniformScorer,
  randomScorer,
  recentScorer,
  type KVScorer,
} from '@kava/core/internal';
import {
  expectClose,
  makeInput,
  permuteTokens,
  randomArray,
  randomSource,
  scoreAndKeep,
  type Arr5,
} from './compression-fixtures.js';

/** keys [1][1][1][N][d] of the given rows; values/queries unused by position-only scorers. */
const oneHead = (rows: number[][]): Arr5 => [[[rows]]];
const flatKept = (kept: number[][][][]) => kept[0]![0]![0]!;

/** The first `count` valid of `n` tokens, then padding. */
const maskOf = (n: number, count: number) => [Array.from({ length: n }, (_, i) => (i < count ? 1 : 0))];

function keepWith(scorer: KVScorer, n: number, valid: number, budget: number) {
  const input = makeInput({
    keys: oneHead(Array.from({ length: n }, (_, i) => [i + 1, 1])),
    mask: maskOf(n, valid),
    budget,
  });
  try {
    return scoreAndKeep(scorer, input);
  } finally {
    input.dispose();
  }
}

describe.each(['cpu', 'wasm'] as const)('baseline scorers on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('knorm scores −‖k‖ and keeps the smallest keys', () => {
    const input = makeInput({
      keys: oneHead([
        [3, 4],
        [1, 0],
        [0, 0],
        [0, 2],
        [0, 0.1],
      ]),
      mask: [[1, 1, 1, 1, 0]],
      budget: 2,
    });
    const { scores, kept } = scoreAndKeep(createKnormScorer(), input);
    expectClose(scores[0]![0]![0]!.slice(0, 4), [-5, -1, 0, -2]);
    expect(flatKept(kept)).toEqual([1, 2]); // the padding key (norm 0.1) is never kept
    input.dispose();
  });

  test('first keeps the earliest tokens (crop)', () => {
    const { scores, kept } = keepWith(createFirstScorer(), 6, 5, 3);
    expect(scores[0]![0]![0]).toEqual([-5, -6, -7, -8, -9, -10]); // −position (positions start at 5)
    expect(flatKept(kept)).toEqual([0, 1, 2]);
  });

  test('uniform keeps M evenly spaced tokens, first and last included', () => {
    // Ranks round(j·(N_valid−1)/(M−1)): 10 of 4 → 0 3 6 9; 6 of 4 → 0 1.67 3.33 5 → 0 2 3 5;
    // 4 of 3 → 0 1.5 3 → 0 2 3 (halves round up); 2 valid of budget 4 → both, rest unfilled.
    expect(flatKept(keepWith(createUniformScorer(), 12, 10, 4).kept)).toEqual([0, 3, 6, 9]);
    expect(flatKept(keepWith(createUniformScorer(), 6, 6, 4).kept)).toEqual([0, 2, 3, 5]);
    expect(flatKept(keepWith(createUniformScorer(), 5, 4, 3).kept)).toEqual([0, 2, 3]);
    expect(flatKept(keepWith(createUniformScorer(), 5, 2, 4).kept)).toEqual([0, 1, 0, 0]);
    expect(flatKept(keepWith(createUniformScorer(), 5, 5, 1).kept)).toEqual([0]);
  });

  test('recent keeps the sinks and the most recent tokens', () => {
    expect(flatKept(keepWith(createRecentScorer({ sinks: 2 }), 10, 8, 5).kept)).toEqual([0, 1, 5, 6, 7]);
    expect(flatKept(keepWith(createRecentScorer({ sinks: 0 }), 10, 8, 3).kept)).toEqual([5, 6, 7]);
    expect(flatKept(keepWith(createRecentScorer({ sinks: 4 }), 10, 8, 2).kept)).toEqual([0, 1]);
    expect(flatKept(keepWith(recentScorer.create({}), 10, 10, 6).kept)).toEqual([0, 1, 2, 3, 8, 9]); // default 4 sinks
  });

  test('random is reproducible per seed, differs across seeds, layers and heads', () => {
    const input = makeInput({
      keys: randomArray([1, 2, 2, 40, 2], randomSource(1)) as Arr5,
      mask: maskOf(40, 40),
      budget: 8,
      seed: 5,
    });
    const a = scoreAndKeep(createRandomScorer(), input);
    const b = scoreAndKeep(randomScorer.create({}), input);
    const c = scoreAndKeep(createRandomScorer({ seed: 6 }), input);
    expect(b.scores).toEqual(a.scores);
    expect(c.scores).not.toEqual(a.scores);
    const flat = a.scores.flat(3);
    expect(flat.every((v) => v >= 0 && v < 1)).toBe(true);
    const sets = a.kept[0]!.flat(1).map((row) => row.join());
    expect(new Set(sets).size).toBe(4); // each (layer, head) draws its own subset
    input.dispose();
  });

  test('attention keeps what the answer queries attend to (hand-computed)', () => {
    // One query head per KV head: q = [0, 3] attends by k·q/√2: logits [0, 3, 1.5, −3]/√2 → keeps 1, 2.
    const input = makeInput({
      keys: oneHead([
        [1, 0],
        [0, 1],
        [1, 0.5],
        [0, -1],
      ]),
      mask: [[1, 1, 1, 1]],
      budget: 2,
      answerQueries: [[[[[0, 3]]]]],
      answerQueryMask: [[1]],
    });
    const { scores, kept } = scoreAndKeep(createAttentionScorer(), input);
    const e = [0, 3, 1.5, -3].map((x) => Math.exp(x / Math.SQRT2));
    const total = e.reduce((s, v) => s + v, 0);
    expectClose(
      scores[0]![0]![0]!,
      e.map((v) => v / total),
    );
    expect(flatKept(kept)).toEqual([1, 2]);
    input.dispose();
  });

  test('content scorers are permutation-equivariant: permuting CoT tokens permutes the scores', () => {
    const rand = randomSource(21);
    const [L, Hkv, G, N, d] = [2, 2, 2, 6, 4];
    const keys = randomArray([1, L, Hkv, N, d], rand) as Arr5;
    const queries = randomArray([1, L, Hkv * G, 3, d], rand) as Arr5;
    const perm = [3, 0, 5, 1, 4, 2];
    const permuted = keys.map((layers) => layers.map((heads) => heads.map((tokens) => permuteTokens(tokens, perm))));
    for (const scorer of [createAttentionScorer(), createKnormScorer()]) {
      const spec = {
        mask: maskOf(N, N),
        budget: 3,
        groupSize: G,
        answerQueries: queries,
        answerQueryMask: [[1, 1, 1]],
      };
      const a = makeInput({ ...spec, keys });
      const b = makeInput({ ...spec, keys: permuted });
      const sa = scoreAndKeep(scorer, a).scores;
      const sb = scoreAndKeep(scorer, b).scores;
      expectClose(
        sb,
        sa.map((layers) => layers.map((heads) => heads.map((row) => permuteTokens(row, perm)))),
        1e-5,
      );
      a.dispose();
      b.dispose();
    }
  });
});

test('every built-in has a description and a strict options schema with described fields', () => {
  const registry = new Registry();
  registerCompression(registry);
  expect(registry.names('scorer')).toEqual(['attention', 'first', 'knorm', 'random', 'recent', 'uniform']);
  expect(registry.names('evictor')).toEqual(['topk']);
  for (const scorer of registry.list('scorer')) {
    expect(scorer.description.length).toBeGreaterThan(20);
    const schema = scorer.options as z.ZodObject;
    expect(schema).toBeInstanceOf(z.ZodObject);
    for (const [key, field] of Object.entries(schema.shape))
      expect([key, (field as z.ZodType).description]).toEqual([key, expect.any(String)]);
    expect(() => scorer.create({ nonsense: 1 })).toThrow(
      new RegExp(`scorer "${scorer.name}": compression\\.options\\.nonsense: unknown key`),
    );
  }
  expect(() => recentScorer.create({ sinks: -1 })).toThrow(/compression\.options\.sinks/);
});

test('the loader registers the baselines under core', async () => {
  const { registry } = await loadPlugins([]);
  expect(registry.get('scorer', 'knorm').plugin).toBe('(core)');
  expect(registry.get('evictor', 'topk').create({}).name).toBe('topk');
});
