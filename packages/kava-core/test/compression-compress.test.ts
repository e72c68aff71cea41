import {
  tf,
  ConfigError,
  KavaHooks,
  compressCache,
  createCompression,
  initBackend,
  loadPlugins,
  compressionSchema,
  defineScorer,
  PluginError,
  type EvictionResult,
  type Compression,
  type KVScorer,
  type Registry,
  type ScorerInput,
} from '@kava/core/internal';
import { makeInput, randomArray, randomSource, scoreAndKeep, type Arr5 } from './compression-fixtures.js';

const spec = () => ({
  keys: randomArray([2, 2, 2, 6, 4], randomSource(2)) as Arr5,
  mask: [
    [1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1],
  ],
  answerQueries: randomArray([2, 2, 4, 3, 4], randomSource(3)) as Arr5,
  answerQueryMask: [
    [1, 1, 0],
    [1, 1, 1],
  ],
  groupSize: 2,
  budget: 3,
});

beforeAll(async () => {
  await initBackend('cpu');
});

test('compressCache runs the configured scorer and evictor and shows the hook the scores', async () => {
  const { registry } = await loadPlugins([]);
  const compression = createCompression(compressionSchema.parse({ scorer: 'knorm' }), registry);
  const hooks = new KavaHooks();
  let seen: { scorer: string; budget: number; step: number; scores: number[][][][] } | null = null;
  hooks.compression.tap('observer', (result, info) => {
    seen = {
      scorer: info.scorer,
      budget: info.budget,
      step: info.step,
      scores: info.scores.arraySync() as number[][][][],
    };
    return result;
  });
  const input = makeInput(spec());
  const before = tf.memory().numTensors;
  const result = compressCache(compression, input, { hooks, step: 7 });
  expect(tf.memory().numTensors).toBe(before + 4); // the result only: the scores are disposed
  const norms = tf.tidy(() => tf.neg(tf.norm(input.keys, 'euclidean', -1)).arraySync());
  expect(seen!.scorer).toBe('knorm');
  expect(seen!.step).toBe(7);
  expect(seen!.budget).toBe(3);
  expect(seen!.scores).toEqual(norms);
  tf.dispose([result.keys, result.values, result.indices, result.slotMask]);
  input.dispose();
});

test('a hook may replace the result; the replaced one is disposed', async () => {
  const { registry } = await loadPlugins([]);
  const compression = createCompression(compressionSchema.parse({ scorer: 'first' }), registry);
  const hooks = new KavaHooks();
  let replaced: EvictionResult | null = null;
  hooks.compression.tap('replacer', (result) => {
    replaced = result;
    return {
      keys: tf.zerosLike(result.keys),
      values: tf.zerosLike(result.values),
      indices: result.indices.clone(),
      slotMask: result.slotMask.clone(),
    };
  });
  const input = makeInput(spec());
  const result = compressCache(compression, input, { hooks });
  expect(replaced!.keys.isDisposed).toBe(true);
  expect(result.keys.isDisposed).toBe(false);
  expect(result.indices.arraySync()).toEqual([
    [
      [
        [0, 1, 2],
        [0, 1, 2],
      ],
      [
        [0, 1, 2],
        [0, 1, 2],
      ],
    ],
    [
      [
        [0, 1, 2],
        [0, 1, 2],
      ],
      [
        [0, 1, 2],
        [0, 1, 2],
      ],
    ],
  ]);
  tf.dispose([result.keys, result.values, result.indices, result.slotMask]);
  input.dispose();
});

test('compression.groupReduce reaches attention scorers that the input leaves unset', async () => {
  const { registry } = await loadPlugins([]);
  const input = makeInput(spec());
  const scoresWith = (groupReduce: 'max' | 'mean') => {
    const compression = createCompression(compressionSchema.parse({ scorer: 'attention', groupReduce }), registry);
    const hooks = new KavaHooks();
    let scores: number[][][][] = [];
    hooks.compression.tap('observer', (result, info) => {
      scores = info.scores.arraySync() as number[][][][];
      return result;
    });
    const r = compressCache(compression, input, { hooks });
    tf.dispose([r.keys, r.values, r.indices, r.slotMask]);
    return scores;
  };
  expect(scoresWith('max')).not.toEqual(scoresWith('mean'));
  input.dispose();
});

test('errors name the part at fault', async () => {
  const { registry } = await loadPlugins([]);
  expect(() => createCompression(compressionSchema.parse({ scorer: 'nope' }), registry)).toThrow(ConfigError);
  const broken: KVScorer = { name: 'broken', needs: ['keys'], score: () => tf.zeros([1, 2, 3]) };
  const input = makeInput(spec());
  const before = tf.memory().numTensors;
  expect(() =>
    compressCache({ scorer: broken, evictor: registry.get('evictor', 'topk').create({}), groupReduce: 'max' }, input),
  ).toThrow(
    /^scorer "broken" returned scores of shape \[1, 2, 3\], expected float32 \[B, L, H_kv, N\] = \[2, 2, 2, 6\]/,
  );
  expect(tf.memory().numTensors).toBe(before);
  const attention = registry.get('scorer', 'attention').create({});
  const { answerQueries: _unused, ...withoutQueries } = input;
  expect(() => attention.score(withoutQueries)).toThrow(/scorer "attention": needs answerQueries/);
  input.dispose();
});

test('every scorer: kept indices are valid tokens, sorted, distinct; padding only in unfilled slots', async () => {
  const { registry } = await loadPlugins(['@kava/plugin-rkv', '@kava/plugin-keydiff']);
  const rand = randomSource(8);
  const N = 10;
  const mask = [
    Array.from({ length: N }, (_, i) => (i < 4 ? 1 : 0)),
    Array.from({ length: N }, (_, i) => (i < 9 ? 1 : 0)),
  ];
  // Padding keys are huge and equal to the queries, so any scorer that looked at them would love them.
  const keys = randomArray([2, 2, 2, N, 4], rand) as Arr5;
  keys.forEach((ls, b) =>
    ls.forEach((hs) =>
      hs.forEach((ts) =>
        ts.forEach((t, i) => {
          if (!mask[b]![i]) t.fill(50);
        }),
      ),
    ),
  );
  const input = makeInput({
    keys,
    mask,
    budget: 6,
    groupSize: 2,
    seed: 3,
    answerQueries: randomArray([2, 2, 4, 3, 4], () => 50) as Arr5,
    answerQueryMask: [
      [1, 1, 1],
      [1, 1, 1],
    ],
    windowQueries: randomArray([2, 2, 4, 2, 4], () => 50) as Arr5,
    windowQueryMask: [
      [1, 1],
      [1, 1],
    ],
  });
  for (const entry of registry.list('scorer')) {
    const { kept } = scoreAndKeep(entry.create({}), input);
    kept.forEach((ls, b) =>
      ls.forEach((hs) =>
        hs.forEach((row) => {
          const nValid = mask[b]!.filter(Boolean).length;
          const filled = row.slice(0, Math.min(6, nValid));
          expect([entry.name, filled.every((i) => mask[b]![i] === 1)]).toEqual([entry.name, true]);
          expect([entry.name, filled]).toEqual([entry.name, [...new Set(filled)].sort((x, y) => x - y)]);
          expect([entry.name, row.slice(filled.length)]).toEqual([entry.name, row.slice(filled.length).map(() => 0)]);
        }),
      ),
    );
  }
  input.dispose();
});

test('no scorer leaks tensors', async () => {
  const { registry } = await loadPlugins(['@kava/plugin-rkv', '@kava/plugin-keydiff']);
  const input = makeInput({
    ...spec(),
    windowQueries: randomArray([2, 2, 4, 2, 4], randomSource(4)) as Arr5,
    windowQueryMask: [
      [1, 1],
      [1, 0],
    ],
  });
  for (const entry of registry.list('scorer')) {
    const scorer = entry.create({});
    const before = tf.memory().numTensors;
    const scores = scorer.score(input);
    expect([entry.name, scores.shape]).toEqual([entry.name, [2, 2, 2, 6]]);
    scores.dispose();
    expect([entry.name, tf.memory().numTensors]).toEqual([entry.name, before]);
  }
  input.dispose();
});

// Issue 43 finding 10: a scorer from a plugin that throws, returns the wrong thing or returns NaN
// is named with its plugin and what a scorer must return, not left as its bare message.
describe('a misbehaving plugin scorer is named, with its plugin and the contract', () => {
  /** The compression of a one-scorer plugin "kava-plugin-bad" whose scorer "bad" scores with `score`. */
  const withScorer = async (score: (input: ScorerInput) => tf.Tensor) => {
    const scorer = defineScorer({ name: 'bad', description: 'misbehaves', needs: ['keys'], score });
    const plugin = { name: 'kava-plugin-bad', register: (r: Registry) => scorer.register(r) };
    const { registry } = await loadPlugins([plugin]);
    return createCompression(compressionSchema.parse({ scorer: 'bad' }), registry);
  };
  /** Compresses `input` (spec() by default) and frees everything, checking nothing is left behind. */
  const compressWith = (compression: Compression, input = makeInput(spec())) => {
    const before = tf.memory().numTensors - Object.values(input).filter((v) => v instanceof tf.Tensor).length;
    try {
      const r = compressCache(compression, input);
      tf.dispose([r.keys, r.values, r.indices, r.slotMask]);
    } finally {
      input.dispose();
      expect(tf.memory().numTensors).toBe(before); // nothing left behind, thrown or not
    }
  };
  /** Scores [B, L, H_kv, N] that are a key sum, with NaN where `where(b, n)` holds. */
  const nanWhere =
    (where: (b: number, n: number) => boolean) =>
    (input: ScorerInput): tf.Tensor =>
      tf.tidy(() => {
        const nan = tf
          .tensor(spec().mask.map((row, b) => row.map((_, n) => (where(b, n) ? 1 : 0))))
          .reshape([2, 1, 1, 6]);
        return tf.where(
          tf.greater(tf.broadcastTo(nan, [2, 2, 2, 6]), 0),
          tf.fill([2, 2, 2, 6], NaN),
          input.keys.sum(-1),
        );
      });

  test('one that throws: its error, the scorer, the plugin, the cache it was given and the contract', async () => {
    const compression = await withScorer(() => {
      throw new Error('scorer exploded');
    });
    const error = (() => {
      try {
        compressWith(compression);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(
      /^plugin "kava-plugin-bad": scorer "bad" threw while scoring a cache of \[B, L, H_kv, N, d\] = \[2, 2, 2, 6, 4\]: scorer exploded \(a scorer returns float32 scores \[B, L, H_kv, N\], never NaN at a valid token; test it with the contract kit, @kava\/core\/testing\)$/,
    );
  });

  test('one that returns the wrong shape, or something that is not a tensor', async () => {
    // ([B, N] is broadcast to every layer and head by defineScorer; [B, L, N] is wrong)
    const flat = await withScorer(() => tf.zeros([2, 2, 6]));
    expect(() => compressWith(flat)).toThrow(
      /^plugin "kava-plugin-bad": scorer "bad" returned scores of shape \[2, 2, 6\], expected float32 \[B, L, H_kv, N\] = \[2, 2, 2, 6\]/,
    );
    const raw: KVScorer = { name: 'raw', needs: ['keys'], score: () => [[1, 2]] as unknown as tf.Tensor };
    const { registry } = await loadPlugins([]);
    const evictor = registry.get('evictor', 'topk').create({});
    expect(() => compressWith({ scorer: raw, scorerPlugin: 'kava-plugin-raw', evictor, groupReduce: 'max' })).toThrow(
      /^plugin "kava-plugin-raw": scorer "raw" returned an array of 1, not a tensor/,
    );
  });

  test('NaN at a valid token of a finite cache is refused; at padding, or from a NaN cache, it is not', async () => {
    const atValid = await withScorer(nanWhere((b, n) => b === 1 && n === 2));
    expect(() => compressWith(atValid)).toThrow(
      /^plugin "kava-plugin-bad": scorer "bad" returned NaN for valid token 2 of example 1 \(layer 0, KV head 0\)/,
    );
    // example 0's tokens 4 and 5 are padding: what a scorer gives them is the evictor's business
    const atPadding = await withScorer(nanWhere((b, n) => b === 0 && n >= 4));
    expect(() => compressWith(atPadding)).not.toThrow();
    // a diverged step's cache holds NaN: the trainer skips that step, the scorer is not to blame
    const keySum = await withScorer((i) => i.keys.sum(-1));
    const nanKeys = spec().keys.map((ls) => ls.map((hs) => hs.map((ts) => ts.map((t) => t.map(() => NaN))))) as Arr5;
    expect(() => compressWith(keySum, makeInput({ ...spec(), keys: nanKeys }))).not.toThrow();
  });
});
