// @kava/core/testing: the scorer contract kit. Every registered scorer (core's baselines and the
// built-in plugins', read from the registry so a new one is checked without editing this file)
// passes it on both backends, and each check catches the violation it is for, on a scorer written
// to commit exactly that one.
import { tf, initBackend, loadPlugins, type KVScorer, type ScorerInput } from '@kava/core/internal';
import { checkScorerContract, contractInput, scorerContractCases, CONTRACT_DIMS } from '@kava/core/testing';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const { registry } = await loadPlugins([], { builtins: BUILTIN_PLUGINS });
const registered = registry.list('scorer');

test('the registry holds every built-in scorer, so the loop below covers them', () => {
  expect(registered.map((s) => s.name)).toEqual(
    expect.arrayContaining([
      'attention',
      'expected-attention',
      'first',
      'h2o',
      'keydiff',
      'knorm',
      'random',
      'recent',
      'rkv',
      'rkv-decoding',
      'snapkv',
      'tova',
      'uniform',
    ]),
  );
});

describe.each(['cpu', 'wasm'] as const)('every registered scorer, with its default options, on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  describe.each(registered.map((s) => [`${s.name} (${s.plugin})`, s] as const))('%s', (_name, registration) => {
    for (const c of scorerContractCases(() => registration.create({}))) test(c.title, () => c.run());
  });
});

describe('each contract check catches its violation', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  /** A well-behaved scorer (value norms, masked) with one part swapped for a broken one. */
  const scorer = (
    score: (input: ScorerInput) => tf.Tensor,
    needs: KVScorer['needs'] = ['keys', 'values'],
  ): KVScorer => ({ name: 'broken', needs, score });
  const good = (input: ScorerInput) => tf.tidy(() => tf.norm(input.values, 'euclidean', -1));

  test('the well-behaved reference passes', () => {
    expect(() => checkScorerContract(() => scorer(good))).not.toThrow();
  });
  test('shapes: a [B, L, N] result', () => {
    expect(() => checkScorerContract(() => scorer((i) => tf.tidy(() => tf.sum(good(i), 2))))).toThrow(
      /scorer contract "broken", shapes: returned scores of shape \[2, 2, 7\], expected float32 \[B, L, H_kv, N\] = \[2, 2, 2, 7\]/,
    );
  });
  test('shapes: NaN at a valid token', () => {
    expect(() =>
      checkScorerContract(() => scorer((i) => tf.tidy(() => tf.div(good(i), 0).sub(tf.div(good(i), 0))))),
    ).toThrow(/shapes: returned NaN for valid token 0 of example 0 \(layer 0, KV head 0\)/);
  });
  test('needs: values read but not listed', () => {
    expect(() => checkScorerContract(() => scorer(good, ['keys']))).toThrow(
      /needs: failed on an input with only \[keys\]/,
    );
  });
  test('padding: a scorer that reads the padded tokens', () => {
    // the mean over all N tokens, padding included, shifts every score
    const leaky = (i: ScorerInput) => tf.tidy(() => tf.add(good(i), tf.mean(good(i), -1, true)));
    expect(() => checkScorerContract(() => scorer(leaky))).toThrow(
      /padding: valid tokens' scores change by [\d.]+ when only padded keys\/values change/,
    );
  });
  test('budgets: a scorer that fails on a budget longer than the CoT', () => {
    const short = (i: ScorerInput) => {
      if (i.budget > 5) throw new Error('budget exceeds the CoT');
      return good(i);
    };
    expect(() => checkScorerContract(() => scorer(short))).toThrow(
      /budgets: budget 6: score\(\) threw: budget exceeds the CoT/,
    );
  });
  test('determinism: scores from Math.random', () => {
    const random = (i: ScorerInput) => tf.tidy(() => tf.add(good(i), Math.random()));
    expect(() => checkScorerContract(() => scorer(random), { skip: ['needs', 'padding'] })).toThrow(
      /determinism: two calls on the same input differ/,
    );
  });
  test('no-tensor-leaks: an intermediate outside tf.tidy', () => {
    const leaky = (i: ScorerInput) => {
      tf.abs(i.values); // never disposed
      return good(i);
    };
    expect(() => checkScorerContract(() => scorer(leaky))).toThrow(
      /no-tensor-leaks: 1 tensor\(s\) left after score\(\)/,
    );
  });
  test('inputs-untouched: a scorer that disposes its input', () => {
    const disposer = (i: ScorerInput) => {
      const s = good(i);
      i.mask.dispose();
      return s;
    };
    expect(() =>
      checkScorerContract(() => scorer(disposer), {
        // (shapes reads the mask too, and stops at the disposed one first)
        skip: ['shapes', 'padding', 'budgets', 'determinism', 'no-tensor-leaks', 'needs'],
      }),
    ).toThrow(/inputs-untouched: input\.mask was disposed/);
  });
  test('contractInput has the documented dimensions and frees what it made', () => {
    const before = tf.memory().numTensors;
    const input = contractInput({ parts: ['keys', 'values', 'answerQueries'] });
    const { B, L, Hkv, groupSize, N, d, answerQueries } = CONTRACT_DIMS;
    expect(input.keys.shape).toEqual([B, L, Hkv, N, d]);
    expect(input.answerQueries!.shape).toEqual([B, L, Hkv * groupSize, answerQueries, d]);
    expect(input.windowQueries).toBeUndefined();
    expect(input.mask.arraySync()).toEqual([
      [1, 1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1, 1],
    ]);
    input.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
