import {
  tf,
  initBackend,
  Decoder,
  generateGreedy,
  disposeCache,
  inverseFrequencies,
  KavaError,
} from '@kava/core/internal';
import { tinyConfig } from './model-helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const ids2d = (rows: number[][]) => tf.tensor2d(rows, undefined, 'int32');
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('RoPE frequencies', () => {
  test('plain RoPE is theta^(-2i/d); llama3 scaling keeps high, stretches low and blends the band between', () => {
    const plain = inverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null });
    Array.from(plain).forEach((v, i) => expect(Math.abs(v - 10 ** -i) / 10 ** -i).toBeLessThan(1e-6));
    // Wavelengths 2π/f: 6.28, 62.8, 628, 6283. Original context 1000, factors 1 / 4: low-frequency
    // cut 1000, high-frequency cut 250. So: keep, keep, blend, stretch by 8.
    const scaled = inverseFrequencies({
      headDim: 8,
      ropeTheta: 10000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 1000,
      },
    });
    const smooth = (1000 / ((2 * Math.PI) / 0.01) - 1) / (4 - 1);
    const expected = [1, 0.1, ((1 - smooth) * 0.01) / 8 + smooth * 0.01, 0.001 / 8];
    Array.from(scaled).forEach((v, i) => expect(Math.abs(v - expected[i]!) / expected[i]!).toBeLessThan(1e-6));
  });
});

describe('the decoder forward', () => {
  test('returns only what is asked for, with the documented shapes, and leaks nothing', () => {
    const model = Decoder.random(tinyConfig(), 1);
    const before = tf.memory().numTensors;
    const out = model.forward({
      inputIds: ids2d([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      logits: false,
      kv: 'post-rope',
      hidden: true,
      returnCache: true,
      attentionRows: ids2d([[2], [0]]),
    });
    expect(out.logits).toBeUndefined();
    expect(out.keys!.map((k) => k.shape)).toEqual([
      [2, 2, 3, 8],
      [2, 2, 3, 8],
    ]);
    expect(out.values![1]!.shape).toEqual([2, 2, 3, 8]);
    expect(out.hidden!.map((h) => h.shape)).toEqual([
      [2, 3, 32],
      [2, 3, 32],
      [2, 3, 32],
    ]);
    expect(out.queries![0]!.shape).toEqual([2, 4, 1, 8]);
    expect(out.attention![0]!.shape).toEqual([2, 4, 1, 3]);
    expect(out.cache!.length).toBe(3);
    tf.dispose([...out.keys!, ...out.values!, ...out.hidden!, ...out.queries!, ...out.attention!]);
    disposeCache(out.cache);
    tf.dispose(out.cache!.mask);
    expect(tf.memory().numTensors).toBe(before + 0 /* the ids tensors were created outside */ + 2);
    const plain = model.forward({ inputIds: ids2d([[1, 2]]) });
    expect(Object.keys(plain)).toEqual(['logits']);
    expect(plain.logits!.shape).toEqual([1, 2, 40]);
    model.dispose();
  });

  test('attention rows over a cache: probabilities over every key, zero on padding and the future', () => {
    const model = Decoder.random(tinyConfig(), 2);
    tf.tidy(() => {
      const prefix = model.forward({
        inputIds: ids2d([
          [0, 7, 8],
          [9, 10, 11],
        ]),
        attentionMask: tf.tensor2d([
          [0, 1, 1],
          [1, 1, 1],
        ]),
        returnCache: true,
      });
      const out = model.forward({
        inputIds: ids2d([
          [12, 13],
          [14, 15],
        ]),
        cache: prefix.cache,
        attentionRows: ids2d([
          [0, 1],
          [1, 0],
        ]),
      });
      const probs = out.attention![1]!.arraySync() as number[][][][];
      // Example 0, query row 0 (absolute position 3): sees keys 1..3, not the pad at 0 or key 4.
      for (const head of probs[0]!) {
        expect(head[0]![0]).toBe(0);
        expect(head[0]![4]).toBe(0);
        expect(head[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(head[1]![4]).toBeGreaterThan(0);
      }
      // Example 1 asked for row 1 first: it sees all 5 keys.
      expect(Math.min(...probs[1]![0]![0]!)).toBeGreaterThan(0);
      // The gathered rows are the rows of the full attention.
      const all = model.forward({
        inputIds: ids2d([
          [12, 13],
          [14, 15],
        ]),
        cache: prefix.cache,
        attentionRows: ids2d([
          [1, 0],
          [0, 1],
        ]),
      });
      expect(
        maxAbsDiff(
          all.attention![0]!.slice([0, 0, 1, 0], [1, 4, 1, 5]),
          out.attention![0]!.slice([0, 0, 0, 0], [1, 4, 1, 5]),
        ),
      ).toBe(0);
    });
    model.dispose();
  });

  test('padding does not change the real tokens: a padded row equals the row alone', () => {
    const model = Decoder.random(tinyConfig(), 3);
    tf.tidy(() => {
      const alone = model.forward({ inputIds: ids2d([[5, 6, 7]]) }).logits!;
      const left = model.forward({
        inputIds: ids2d([[0, 0, 5, 6, 7]]),
        attentionMask: tf.tensor2d([[0, 0, 1, 1, 1]]),
      }).logits!;
      const right = model.forward({
        inputIds: ids2d([[5, 6, 7, 0]]),
        attentionMask: tf.tensor2d([[1, 1, 1, 0]]),
      }).logits!;
      expect(maxAbsDiff(left.slice([0, 2, 0], [1, 3, 40]), alone)).toBeLessThan(1e-5);
      expect(maxAbsDiff(right.slice([0, 0, 0], [1, 3, 40]), alone)).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  test('latents after a right-padded prefix continue its positions (no gap), from input embeddings', () => {
    const model = Decoder.random(tinyConfig(), 4);
    tf.tidy(() => {
      const latent = tf.randomNormal([1, 2, 32], 0, 1, 'float32', 9);
      const prefix = model.forward({
        inputIds: ids2d([[5, 6, 0]]),
        attentionMask: tf.tensor2d([[1, 1, 0]]),
        returnCache: true,
      });
      const padded = model.forward({ inputEmbeds: latent, cache: prefix.cache, kv: 'post-rope' });
      const tight = model.forward({
        inputEmbeds: latent,
        cache: model.forward({ inputIds: ids2d([[5, 6]]), returnCache: true }).cache,
        kv: 'post-rope',
      });
      expect(maxAbsDiff(padded.logits!, tight.logits!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(padded.keys![1]!, tight.keys![1]!)).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  test('gradients flow into input embeddings (latent tokens) and every weight', () => {
    const model = Decoder.random(tinyConfig(), 5);
    const embeds = tf.variable(tf.randomNormal([1, 3, 32], 0, 1, 'float32', 3));
    const vars = [...model.trainableVariables(), embeds];
    // A token prefix (reaches the embedding table) followed by latent embeddings.
    const loss = () =>
      tf.sum(model.forward({ inputEmbeds: tf.concat([model.embed(ids2d([[4, 5]])), embeds], 1) }).logits!) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vars);
    for (const v of vars) expect(tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads), embeds]);
    model.dispose();
  });

  test('bad requests are clear errors', () => {
    const model = Decoder.random(tinyConfig(), 0);
    const ids = ids2d([[1, 2]]);
    expect(() => model.forward({})).toThrow(/exactly one of inputIds/);
    expect(() => model.forward({ inputIds: ids, inputEmbeds: tf.zeros([1, 2, 32]) })).toThrow(KavaError);
    expect(() => model.forward({ inputEmbeds: tf.zeros([1, 2, 16]) })).toThrow(
      /inputEmbeds must be \[B, S, 32\], got \[1,2,16\]/,
    );
    expect(() => model.forward({ inputIds: ids, attentionMask: tf.ones([1, 3]) })).toThrow(
      /attentionMask must be \[1, 2\]/,
    );
    expect(() => Decoder.random(tinyConfig({ numKvHeads: 3 }))).toThrow(
      /numHeads \(4\) must be a multiple of numKvHeads \(3\)/,
    );
    model.dispose();
  });
});

describe('vocabulary growth', () => {
  test('new rows are trainable, leave the old logits alone, and feed the tied or untied head', () => {
    for (const tie of [false, true]) {
      const model = Decoder.random(tinyConfig({ tieWordEmbeddings: tie }), 6);
      const before = tf.tidy(() => model.forward({ inputIds: ids2d([[1, 2, 3]]) }).logits!.arraySync() as number[][][]);
      model.attachLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj'] });
      model.resizeVocab(42);
      expect(model.vocabSize).toBe(42);
      expect(model.config.vocabSize).toBe(42);
      expect(model.baseVocabSize).toBe(40);
      expect(model.trainableVariables().length).toBe(2 * 2 + (tie ? 1 : 2));
      tf.tidy(() => {
        const after = model.forward({ inputIds: ids2d([[1, 2, 3]]) }).logits!;
        expect(after.shape).toEqual([1, 3, 42]);
        expect(maxAbsDiff(after.slice([0, 0, 0], [1, 3, 40]), tf.tensor(before))).toBe(0);
        expect(
          maxAbsDiff(
            model.embed(ids2d([[41]])).reshape([32]),
            model.addedRows.embed!.slice([1, 0], [1, 32]).reshape([32]),
          ),
        ).toBe(0);
      });
      expect(() => model.resizeVocab(41)).toThrow(/can only grow the vocabulary \(now 42 rows\)/);
      model.dispose();
    }
  });

  test("new rows draw their noise from the given seed (a run's train.seed)", () => {
    const rows = (seed: number) => {
      const model = Decoder.random(tinyConfig(), 6);
      model.resizeVocab(43, undefined, seed);
      const out = [model.addedRows.embed!, model.addedRows.head!].map((t) => Array.from(t.dataSync()));
      model.dispose();
      return out;
    };
    expect(rows(5)).toEqual(rows(5));
    const [embed5, head5] = rows(5);
    const [embed6, head6] = rows(6);
    expect(embed6).not.toEqual(embed5);
    expect(head6).not.toEqual(head5);
  });
});

describe('greedy generation', () => {
  test('a left-padded batch generates what each row generates alone, with and without the cache', () => {
    const model = Decoder.random(tinyConfig(), 7);
    const alone = [
      [3, 9, 14, 2],
      [22, 5],
    ].map((p) => generateGreedy(model, { inputIds: ids2d([p]), maxNewTokens: 6 }).tokens[0]);
    const batch = {
      inputIds: ids2d([
        [3, 9, 14, 2],
        [0, 0, 22, 5],
      ]),
      attentionMask: tf.tensor2d([
        [1, 1, 1, 1],
        [0, 0, 1, 1],
      ]),
      maxNewTokens: 6,
    };
    const cached = generateGreedy(model, batch);
    expect(cached.tokens).toEqual(alone);
    expect(cached.forwardPasses).toBe(6);
    expect(generateGreedy(model, { ...batch, useCache: false }).tokens).toEqual(alone);
    // Stopping on eos: the row's output ends before it.
    const eos = alone[0]![2]!;
    const stopped = generateGreedy(model, { ...batch, eosId: eos });
    expect(stopped.tokens[0]).toEqual(alone[0]!.slice(0, alone[0]!.indexOf(eos)));
    expect(() =>
      generateGreedy(model, { inputIds: ids2d([[1, 0]]), attentionMask: tf.tensor2d([[1, 0]]), maxNewTokens: 1 }),
    ).toThrow(/pad on the left/);
    model.dispose();
  });

  test('generation leaks no tensors', () => {
    const model = Decoder.random(tinyConfig(), 8);
    const ids = ids2d([[1, 2, 3]]);
    const before = tf.memory().numTensors;
    generateGreedy(model, { inputIds: ids, maxNewTokens: 4 });
    generateGreedy(model, { inputIds: ids, maxNewTokens: 4, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
