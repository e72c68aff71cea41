import { initBackend } from '@kava/core';
import plugin, { createRkvScorer, rkvScorer } from '@kava/plugin-rkv';
import {
  cosine,
  expectClose,
  loopImportance,
  makeInput,
  permuteTokens,
  randomArray,
  randomSource,
  scoreAndKeep,
  softmaxValid,
  type Arr2,
  type Arr4,
  type Arr5,
} from '../../kava-core/test/compression-fixtures.js';

// Hand case: keys k0 = k1 = [1, 0] (duplicates), k2 = [0, 1], then a padding key; one answer
// query [2, 0]. Mean cosine to the others (N_valid = 3): [1/3, 1/3, 0] →
//   R = softmax(−[1/3, 1/3, 0]) = [0.294498, 0.294498, 0.411005];
//   I = softmax([2, 2, 0]/√2)   = [0.445808, 0.445808, 0.108383];
//   λ = 0.1: S = [0.309629, 0.309629, 0.380743] → keep 2 and (tie) the earlier duplicate 0;
//   λ = 0.5: S = [0.370153, 0.370153, 0.259694] → keep 0, 1.
const hand = {
  keys: [
    [
      [
        [
          [1, 0],
          [1, 0],
          [0, 1],
          [0.7, 0.7],
        ],
      ],
    ],
  ] as Arr5,
  mask: [[1, 1, 1, 0]],
  answerQueries: [[[[[2, 0]]]]] as Arr5,
  answerQueryMask: [[1]],
  budget: 2,
};

/** rkv by loops: λ·I + (1−λ)·softmax_i(−(1/N_valid)·Σ_{j≠i} cos). */
function loopRkv(
  spec: { keys: Arr5; mask: Arr2; answerQueries: Arr5; answerQueryMask: Arr2 },
  G: number,
  lambda: number,
  reduce: 'max' | 'mean',
): Arr4 {
  const I = loopImportance(spec.answerQueries, spec.answerQueryMask, spec.keys, spec.mask, G, reduce);
  return spec.keys.map((layers, b) =>
    layers.map((heads, l) =>
      heads.map((tokens, h) => {
        const valid = spec.mask[b]!.map((v) => v > 0);
        const nValid = valid.filter(Boolean).length;
        const meanCos = tokens.map(
          (ki, i) => tokens.reduce((s, kj, j) => (j !== i && valid[j] ? s + cosine(ki, kj) : s), 0) / nValid,
        );
        const R = softmaxValid(
          meanCos.map((v) => -v),
          valid,
        );
        return R.map((r, i) => (valid[i] ? lambda * I[b]![l]![h]![i]! + (1 - lambda) * r : 0));
      }),
    ),
  );
}

describe.each(['cpu', 'wasm'] as const)('rkv on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('hand-computed scores and kept indices, default λ = 0.1', () => {
    const input = makeInput(hand);
    const { scores, kept } = scoreAndKeep(rkvScorer.create({}), input);
    expectClose(scores[0]![0]![0]!.slice(0, 3), [0.309629, 0.309629, 0.380743], 1e-5);
    expect(kept).toEqual([[[[0, 2]]]]);
    const half = scoreAndKeep(createRkvScorer({ lambda: 0.5 }), input);
    expectClose(half.scores[0]![0]![0]!.slice(0, 3), [0.370153, 0.370153, 0.259694], 1e-5);
    expect(half.kept).toEqual([[[[0, 1]]]]);
    input.dispose();
  });

  test('matches a loop implementation on random GQA inputs with padding (max and mean)', () => {
    const rand = randomSource(5);
    const [B, L, Hkv, G, Q, N, d] = [2, 2, 2, 2, 3, 8, 4];
    const spec = {
      keys: randomArray([B, L, Hkv, N, d], rand) as Arr5,
      answerQueries: randomArray([B, L, Hkv * G, Q, d], () => 2 * rand()) as Arr5,
      mask: [
        [1, 1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1],
      ],
      answerQueryMask: [
        [1, 1, 0],
        [1, 1, 1],
      ],
    };
    for (const reduce of ['max', 'mean'] as const) {
      for (const lambda of [0, 0.1, 1]) {
        const input = makeInput({ ...spec, groupSize: G, budget: 3, groupReduce: reduce });
        const { scores } = scoreAndKeep(createRkvScorer({ lambda }), input);
        const masked = scores.map((layers, b) =>
          layers.map((heads) => heads.map((row) => row.map((v, i) => (spec.mask[b]![i] ? v : 0)))),
        );
        expectClose(masked, loopRkv(spec, G, lambda, reduce), 1e-5);
        input.dispose();
      }
    }
  });

  test('permuting CoT tokens permutes the scores', () => {
    const rand = randomSource(9);
    const keys = randomArray([1, 2, 2, 7, 4], rand) as Arr5;
    const answerQueries = randomArray([1, 2, 4, 2, 4], rand) as Arr5;
    const perm = [6, 2, 0, 5, 1, 3, 4];
    const base = { mask: [[1, 1, 1, 1, 1, 1, 1]], answerQueries, answerQueryMask: [[1, 1]], groupSize: 2, budget: 3 };
    const a = makeInput({ ...base, keys });
    const b = makeInput({ ...base, keys: keys.map((ls) => ls.map((hs) => hs.map((t) => permuteTokens(t, perm)))) });
    const scorer = createRkvScorer();
    const sa = scoreAndKeep(scorer, a).scores;
    const sb = scoreAndKeep(scorer, b).scores;
    expectClose(
      sb,
      sa.map((ls) => ls.map((hs) => hs.map((row) => permuteTokens(row, perm)))),
      1e-5,
    );
    a.dispose();
    b.dispose();
  });

  test('padding is never kept while valid tokens remain, even when padding looks best', () => {
    const rand = randomSource(13);
    const keys = randomArray([2, 1, 2, 6, 3], rand) as Arr5;
    // Padding keys orthogonal to everything and exactly where the query looks: the best scores.
    const input = makeInput({
      keys,
      mask: [
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1, 0],
      ],
      budget: 4,
      answerQueries: randomArray([2, 1, 2, 1, 3], rand) as Arr5,
      answerQueryMask: [[1], [1]],
    });
    const { kept } = scoreAndKeep(createRkvScorer({ lambda: 0.5 }), input);
    expect(kept[0]!.flat(1).every((row) => row.slice(0, 3).every((i) => i < 3) && row[3] === 0)).toBe(true);
    expect(kept[1]!.flat(1).every((row) => row.every((i) => i < 5))).toBe(true);
    input.dispose();
  });
});

test('options are validated and described; λ = 0 asks for keys only', () => {
  expect(() => rkvScorer.create({ lambda: 2 })).toThrow(/scorer "rkv": compression\.options\.lambda/);
  expect(() => rkvScorer.create({ lamda: 0.2 })).toThrow(
    /compression\.options\.lamda: unknown key \(did you mean "lambda"\?\)/,
  );
  expect(createRkvScorer({ lambda: 0 }).needs).toEqual(['keys']);
  expect(createRkvScorer().needs).toEqual(['keys', 'answerQueries']);
  expect(plugin.name).toBe('@kava/plugin-rkv');
});
