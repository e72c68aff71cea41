// The presses' formulas on cases small enough to work by hand (d = 1, so a logit is q·k and the
// 1/√d scale is 1; q = ln 2 makes the softmax weights powers of two), on both backends, and the
// scorer contract kit on their non-default options.
import { initBackend } from '@kava/core';
import { loadPlugins } from '@kava/core/app';
import { scorerContractCases } from '@kava/core/testing';
import plugin, { expectedAttentionScorer, h2oScorer, snapkvScorer, tovaScorer } from '@kava/plugin-presses';
import { expectClose, makeInput, scoreAndKeep, type Arr5 } from '../../kava-core/test/compression-fixtures.js';

const LN2 = Math.log(2);
/** One example, one layer, KV heads of scalar keys: keys[h][i]. */
const scalarKeys = (...heads: number[][]): Arr5 => [[heads.map((row) => row.map((k) => [k]))]];
/** Window queries [1, 1, H, α, 1]: queries[h][t]. */
const scalarQueries = (...heads: number[][]): Arr5 => [[heads.map((row) => row.map((q) => [q]))]];
const ALL5 = [[1, 1, 1, 1, 1]];

describe.each(['cpu', 'wasm'] as const)('the presses on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('snapkv: window attention on the tokens before the window, mean-pooled; the window kept', () => {
    // Keys [0, 1, 2, 0, 0]; the window is tokens 3 and 4, both querying with q = ln 2.
    // Token 3 sees tokens 0-3: weights 1, 2, 4, 1 → [1/8, 2/8, 4/8, 1/8].
    // Token 4 sees tokens 0-4: weights 1, 2, 4, 1, 1 → [1/9, 2/9, 4/9, 1/9, 1/9].
    // Mean over the two on tokens 0-2: 17/144, 34/144, 68/144 (the window's own entries are 0).
    // avg_pool1d, kernel 3, zero padding: (0 + 17 + 34)/432, (17 + 34 + 68)/432, (34 + 68 + 0)/432.
    const input = makeInput({
      keys: scalarKeys([0, 1, 2, 0, 0]),
      mask: ALL5,
      windowQueries: scalarQueries([LN2, LN2]),
      windowQueryMask: [[1, 1]],
      budget: 3,
    });
    const pooled = scoreAndKeep(snapkvScorer.create({ window: 2, kernelSize: 3 }), input);
    expectClose(pooled.scores[0]![0]![0]!.slice(0, 3), [51 / 432, 119 / 432, 102 / 432]);
    expect(pooled.scores[0]![0]![0]!.slice(3)).toEqual([Infinity, Infinity]);
    expect(pooled.kept).toEqual([[[[1, 3, 4]]]]); // pooling lifts token 1 over token 2
    const raw = scoreAndKeep(snapkvScorer.create({ window: 2, kernelSize: 1 }), input);
    expectClose(raw.scores[0]![0]![0]!.slice(0, 3), [17 / 144, 34 / 144, 68 / 144]);
    expect(raw.kept).toEqual([[[[2, 3, 4]]]]);
    input.dispose();
  });

  test('snapkv: a GQA group is averaged after the softmax, head by head', () => {
    // Two query heads on one KV head: the first as above, the second with q = 0 (uniform: token 3
    // gives each of 4 tokens 1/4, token 4 each of 5 tokens 1/5; mean 9/40 on tokens 0-2).
    const input = makeInput({
      keys: scalarKeys([0, 1, 2, 0, 0]),
      mask: ALL5,
      windowQueries: scalarQueries([LN2, LN2], [0, 0]),
      windowQueryMask: [[1, 1]],
      groupSize: 2,
      budget: 3,
    });
    const { scores } = scoreAndKeep(snapkvScorer.create({ window: 2, kernelSize: 1 }), input);
    expectClose(
      scores[0]![0]![0]!.slice(0, 3),
      [17 / 144, 34 / 144, 68 / 144].map((s) => (s + 9 / 40) / 2),
    );
    input.dispose();
  });

  test('h2o: attention accumulated from the queries after each token, plus the recent share of the budget', () => {
    // The same two queries: sums 1/8 + 1/9 = 17/72, 34/72, 68/72, 17/72 and 1/9 (token 4 only sees itself among them).
    const input = makeInput({
      keys: scalarKeys([0, 1, 2, 0, 0]),
      mask: ALL5,
      windowQueries: scalarQueries([LN2, LN2]),
      windowQueryMask: [[1, 1]],
      budget: 2,
    });
    const heavy = scoreAndKeep(h2oScorer.create({ window: 2, recent: 0 }), input);
    expectClose(heavy.scores, [[[[17 / 72, 34 / 72, 68 / 72, 17 / 72, 1 / 9]]]]);
    expect(heavy.kept).toEqual([[[[1, 2]]]]);
    // recent 0.5 of M = 2: the newest token is kept whatever its score, the heaviest hitter beside it.
    const split = scoreAndKeep(h2oScorer.create({ window: 2, recent: 0.5 }), input);
    expect(split.scores[0]![0]![0]![4]).toBe(Infinity);
    expect(split.kept).toEqual([[[[2, 4]]]]);
    input.dispose();
  });

  test("tova: the last token's attention averaged over the layer's heads, the same choice in every head", () => {
    // Head 0: keys [0, 1, 2, 0, 0] → [1, 2, 4, 1, 1]/9. Head 1: keys [2, 1, 0, 0, 0] → [4, 2, 1, 1, 1]/9.
    // Mean: [5, 4, 5, 2, 2]/18 in both heads.
    const input = makeInput({
      keys: scalarKeys([0, 1, 2, 0, 0], [2, 1, 0, 0, 0]),
      mask: ALL5,
      windowQueries: scalarQueries([LN2], [LN2]),
      windowQueryMask: [[1]],
      budget: 2,
    });
    const { scores, kept } = scoreAndKeep(tovaScorer.create({}), input);
    const expected = [5, 4, 5, 2, 2].map((w) => w / 18);
    expectClose(scores, [[[expected, expected]]]);
    expect(kept).toEqual([
      [
        [
          [0, 2],
          [0, 2],
        ],
      ],
    ]);
    input.dispose();
  });

  test('expected-attention: softmax of the Gaussian moment, times the value norm; sinks kept', () => {
    // Window queries 0 and 2: per token the logits are 0 and 2k, mean k, variance k², so the
    // expected logit is k + k²/2: keys [0, 1, 2, 0, 0] → (sink), 1.5, 4, 0, 0. Softmax over tokens
    // 1-4: e^1.5, e^4, 1, 1 over their sum; times the value norms 2, 0.5, 1, 3.
    const values = scalarKeys([5, 2, 0.5, 1, 3]);
    const input = makeInput({
      keys: scalarKeys([0, 1, 2, 0, 0]),
      values,
      mask: ALL5,
      windowQueries: scalarQueries([0, 2]),
      windowQueryMask: [[1, 1]],
      budget: 2,
    });
    const softmax = (x: number[]) => x.map((v) => Math.exp(v) / x.reduce((s, w) => s + Math.exp(w), 0));
    const full = scoreAndKeep(expectedAttentionScorer.create({ window: 2, sinks: 1 }), input);
    const p = softmax([1.5, 4, 0, 0]);
    expect(full.scores[0]![0]![0]![0]).toBe(Infinity);
    expectClose(full.scores[0]![0]![0]!.slice(1), [p[0]! * 2, p[1]! * 0.5, p[2]! * 1, p[3]! * 3]);
    expect(full.kept).toEqual([[[[0, 2]]]]); // the sink and e^4·0.5
    // Mean query only (no covariance): logits k = 1, 2, 0, 0.
    const meanOnly = scoreAndKeep(expectedAttentionScorer.create({ window: 2, sinks: 1, covariance: false }), input);
    const m = softmax([1, 2, 0, 0]);
    expectClose(meanOnly.scores[0]![0]![0]!.slice(1), [m[0]! * 2, m[1]! * 0.5, m[2]! * 1, m[3]! * 3]);
    expect(meanOnly.kept).toEqual([[[[0, 1]]]]); // without the variance term token 1 (e^1·2) wins
    input.dispose();
  });
});

const variants = [
  ['snapkv window 3, kernel 3', () => snapkvScorer.create({ window: 3, kernelSize: 3 })],
  ['h2o window 4, no recent share', () => h2oScorer.create({ window: 4, recent: 0 })],
  [
    'expected-attention, mean only, no value norm, no sinks',
    () => expectedAttentionScorer.create({ covariance: false, valueNorm: false, sinks: 0 }),
  ],
] as const;

describe.each(['cpu', 'wasm'] as const)('the presses against the contract kit on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  describe.each(variants)('%s', (_name, create) => {
    for (const c of scorerContractCases(create)) test(c.title, () => c.run());
  });
});

test('the plugin registers the four presses, each with a description for kava plugins', async () => {
  const { registry } = await loadPlugins([plugin]);
  const presses = registry.list('scorer').filter((s) => s.plugin === '@kava/plugin-presses');
  expect(presses.map((s) => s.name)).toEqual(['expected-attention', 'h2o', 'snapkv', 'tova']);
  for (const s of presses) expect(s.description.length).toBeGreaterThan(40);
});
