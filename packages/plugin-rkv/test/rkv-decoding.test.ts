import { initBackend } from '@kava/core';
import { createRkvDecodingScorer, rkvDecodingScorer } from '@kava/plugin-rkv';
import {
  cosine,
  expectClose,
  loopAttention,
  makeInput,
  randomArray,
  randomSource,
  scoreAndKeep,
  softmaxValid,
  type Arr2,
  type Arr4,
  type Arr5,
} from '../../kava-core/test/compression-fixtures.js';

// Hand case (computed with plain Python loops): six valid tokens and one padding token, window
// α = 2 (tokens 4 and 5, whose queries are [1, 0] and [0, 1]), kernel 3, threshold 0.5, λ = 0.5.
//   I over tokens 0..3 = [0.243320, 0.240484, 0.269373, 0.246822], pooled (±1) =
//   [0.243320, 0.269373, 0.269373, 0.269373]; R over the six valid tokens (each row's newest
//   duplicate above 0.5 zeroed) = [0.205093, 0.211681, 0.178529, 0.183985, 0.083392, 0.137321];
//   score = 0.5·pooled − 0.5·R = [0.019114, 0.028846, 0.045422, 0.042694], window → +∞.
const hand = {
  keys: [
    [
      [
        [
          [1, 0],
          [0.9, 0.1],
          [0, 1],
          [1, 0.05],
          [-1, 0],
          [0.5, 0.5],
          [3, 3],
        ],
      ],
    ],
  ] as Arr5,
  mask: [[1, 1, 1, 1, 1, 1, 0]],
  windowQueries: [
    [
      [
        [
          [1, 0],
          [0, 1],
        ],
      ],
    ],
  ] as Arr5,
  windowQueryMask: [[1, 1]],
  budget: 4,
};

interface DecodingOpts {
  lambda: number;
  kernelSize: number;
  threshold: number;
}

/** The decoding-time R-KV by loops, following the method text step by step. */
function loopRkvDecoding(
  spec: { keys: Arr5; mask: Arr2; windowQueries: Arr5; windowQueryMask: Arr2 },
  G: number,
  reduce: 'max' | 'mean',
  o: DecodingOpts,
): Arr4 {
  return spec.keys.map((layers, b) => {
    const valid = spec.mask[b]!.map((v) => v > 0);
    const validIdx = valid.flatMap((v, i) => (v ? [i] : []));
    const nWindow = spec.windowQueryMask[b]!.filter((v) => v > 0).length;
    const windowSet = new Set(validIdx.slice(validIdx.length - nWindow));
    const scored = valid.map((v, i) => v && !windowSet.has(i));
    const probs = loopAttention([spec.windowQueries[b]!], [layers], [scored], G, reduce)[0]!;
    return layers.map((heads, l) =>
      heads.map((tokens, h) => {
        const N = tokens.length;
        const realQ = probs[l]![h]!.filter((_, q) => spec.windowQueryMask[b]![q]! > 0);
        const I = tokens.map((_, i) =>
          scored[i] ? realQ.reduce((s, row) => s + row[i]!, 0) / realQ.length : -Infinity,
        );
        const half = (o.kernelSize - 1) / 2;
        const pooled = I.map((_, i) => Math.max(...I.slice(Math.max(0, i - half), i + half + 1)));
        const sim = tokens.map((ki, i) =>
          tokens.map((kj, j) => (i !== j && valid[i] && valid[j] ? cosine(ki, kj) : 0)),
        );
        for (const row of sim) {
          let last = -1;
          row.forEach((v, j) => {
            if (v > o.threshold) last = j;
          });
          if (last >= 0) row[last] = 0;
        }
        const colMean = Array.from({ length: N }, (_, j) => sim.reduce((s, row) => s + row[j]!, 0) / validIdx.length);
        const R = softmaxValid(colMean, valid);
        return tokens.map((_, i) =>
          windowSet.has(i) ? Infinity : scored[i] ? o.lambda * pooled[i]! - (1 - o.lambda) * R[i]! : 0,
        );
      }),
    );
  });
}

describe.each(['cpu', 'wasm'] as const)('rkv-decoding on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('hand-computed scores and kept indices', () => {
    const input = makeInput(hand);
    const { scores, kept } = scoreAndKeep(createRkvDecodingScorer({ lambda: 0.5, kernelSize: 3, window: 2 }), input);
    const row = scores[0]![0]![0]!;
    expectClose(row.slice(0, 4), [0.019114, 0.028846, 0.045422, 0.042694], 2e-5);
    expect(row.slice(4, 6)).toEqual([Infinity, Infinity]);
    expect(kept).toEqual([[[[2, 3, 4, 5]]]]);
    input.dispose();
  });

  test('matches a loop implementation with defaults (kernel 7, threshold 0.5), GQA, padding, a short window', () => {
    const rand = randomSource(17);
    const [B, L, Hkv, G, N, d, alpha] = [2, 2, 2, 2, 14, 3, 3];
    const keys = randomArray([B, L, Hkv, N, d], rand) as Arr5;
    keys[0]![0]![0]![3] = keys[0]![0]![0]![1]!.map((v) => v * 2); // exact duplicates exist
    keys[1]![1]![1]![9] = keys[1]![1]![1]![2]!.slice();
    const spec = {
      keys,
      mask: [Array.from({ length: N }, (_, i) => (i < 11 ? 1 : 0)), Array.from({ length: N }, () => 1)],
      windowQueries: randomArray([B, L, Hkv * G, alpha, d], () => 2 * rand()) as Arr5,
      windowQueryMask: [
        [1, 1, 1],
        [1, 1, 0],
      ],
    };
    for (const reduce of ['max', 'mean'] as const) {
      const input = makeInput({ ...spec, groupSize: G, budget: 6, groupReduce: reduce });
      const { scores } = scoreAndKeep(rkvDecodingScorer.create({}), input);
      const masked = scores.map((ls, b) =>
        ls.map((hs) => hs.map((row) => row.map((v, i) => (spec.mask[b]![i] ? v : 0)))),
      );
      expectClose(masked, loopRkvDecoding(spec, G, reduce, { lambda: 0.1, kernelSize: 7, threshold: 0.5 }), 1e-5);
      input.dispose();
    }
  });

  test('among duplicate keys the newest is kept first', () => {
    // Tokens 1, 3, 4 share a direction; the rest are orthogonal. Row 1 spares 4 (its newest
    // duplicate) and counts 3; row 3 spares 4 and counts 1; row 4 spares 3 and counts 1. So the
    // column sums are 2 (token 1), 1 (token 3), 0 (token 4): with λ = 0 only redundancy decides.
    const keys = [
      [
        [
          [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [0, 2, 0, 0],
            [0, 0.5, 0, 0],
            [0, 0, 0, 1],
          ],
        ],
      ],
    ];
    const spec = { keys, mask: [[1, 1, 1, 1, 1, 1]], windowQueries: [[[[[0, 0, 0, 0]]]]], windowQueryMask: [[1]] };
    const scorer = createRkvDecodingScorer({ window: 1, lambda: 0 });
    for (const [budget, expected] of [
      [4, [0, 2, 4, 5]],
      [5, [0, 2, 3, 4, 5]],
    ] as const) {
      const input = makeInput({ ...spec, budget });
      expect(scoreAndKeep(scorer, input).kept[0]![0]![0]).toEqual(expected);
      input.dispose();
    }
  });
});

test('options are validated; the scorer asks for the α window queries', () => {
  expect(() => rkvDecodingScorer.create({ kernelSize: 4 })).toThrow(/compression\.options\.kernelSize: must be odd/);
  const scorer = rkvDecodingScorer.create({ window: 5 });
  expect(scorer.needs).toEqual(['keys', 'windowQueries']);
  expect(scorer.window).toBe(5);
});
