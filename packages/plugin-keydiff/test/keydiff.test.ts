import { initBackend } from '@kava/core';
import plugin, { createKeyDiffScorer, keydiffScorer } from '@kava/plugin-keydiff';
import { createRkvScorer } from '@kava/plugin-rkv';
import {
  expectClose,
  makeInput,
  permuteTokens,
  randomArray,
  randomSource,
  scoreAndKeep,
  type Arr5,
} from '../../kava-core/test/compression-fixtures.js';

describe.each(['cpu', 'wasm'] as const)('keydiff on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('hand-computed scores and kept indices', () => {
    // Unit keys [1,0], [1,0], [0,1] (the padding key [5,5] is left out): anchor [2/3, 1/3],
    // ‖anchor‖ = √5/3; cos = (2/3)/(√5/3) = 0.894427 and (1/3)/(√5/3) = 0.447214.
    const input = makeInput({
      keys: [
        [
          [
            [
              [1, 0],
              [2, 0],
              [0, 1],
              [5, 5],
            ],
          ],
        ],
      ],
      mask: [[1, 1, 1, 0]],
      budget: 2,
    });
    const { scores, kept } = scoreAndKeep(keydiffScorer.create({}), input);
    expectClose(scores[0]![0]![0]!.slice(0, 3), [-0.894427, -0.894427, -0.447214], 1e-5);
    expect(kept).toEqual([[[[0, 2]]]]);
    input.dispose();
  });

  test('ranks exactly as rkv with λ = 0 on random inputs', () => {
    const rand = randomSource(23);
    for (let trial = 0; trial < 4; trial++) {
      const [B, L, H, N, d] = [2, 3, 2, 16, 8];
      const mask = [Array.from({ length: N }, (_, i) => (i < 10 + trial ? 1 : 0)), Array.from({ length: N }, () => 1)];
      const input = makeInput({ keys: randomArray([B, L, H, N, d], rand) as Arr5, mask, budget: 5 });
      const kd = scoreAndKeep(createKeyDiffScorer(), input);
      const rkv = scoreAndKeep(createRkvScorer({ lambda: 0 }), input);
      expect(kd.kept).toEqual(rkv.kept);
      // The full order of the valid tokens, not only the kept set.
      const order = (row: number[], b: number) =>
        row
          .map((_, i) => i)
          .filter((i) => mask[b]![i] === 1)
          .sort((x, y) => row[y]! - row[x]! || x - y);
      kd.scores.forEach((ls, b) =>
        ls.forEach((hs, l) =>
          hs.forEach((row, h) => {
            expect(order(row, b)).toEqual(order(rkv.scores[b]![l]![h]!, b));
          }),
        ),
      );
      input.dispose();
    }
  });

  test('permuting CoT tokens permutes the scores', () => {
    const rand = randomSource(29);
    const keys = randomArray([1, 2, 2, 6, 4], rand) as Arr5;
    const perm = [2, 5, 0, 4, 1, 3];
    const a = makeInput({ keys, mask: [[1, 1, 1, 1, 1, 1]], budget: 2 });
    const b = makeInput({
      keys: keys.map((ls) => ls.map((hs) => hs.map((t) => permuteTokens(t, perm)))),
      mask: [[1, 1, 1, 1, 1, 1]],
      budget: 2,
    });
    const sa = scoreAndKeep(createKeyDiffScorer(), a).scores;
    const sb = scoreAndKeep(createKeyDiffScorer(), b).scores;
    expectClose(
      sb,
      sa.map((ls) => ls.map((hs) => hs.map((row) => permuteTokens(row, perm)))),
      1e-5,
    );
    a.dispose();
    b.dispose();
  });
});

test('keydiff reads keys only and takes no options', () => {
  expect(createKeyDiffScorer().needs).toEqual(['keys']);
  expect(() => keydiffScorer.create({ lambda: 1 })).toThrow(
    /scorer "keydiff": compression\.options\.lambda: unknown key/,
  );
  expect(plugin.name).toBe('@kava/plugin-keydiff');
});
