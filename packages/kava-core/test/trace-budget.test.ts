// A KV budget while the trace is written (eval.kvBudget, R-KV style): compressing the trace's
// cache keeps attention and positions right — a budget larger than the trace, compressed after
// every token, writes exactly what decoding without a budget writes, for every kind of scorer
// (keys, the last tokens' queries, the answer's queries stood in for by the last tokens') and
// evictor (uniform, per layer, per head) — a small budget keeps the cache at most budget +
// interval entries past the question, and heads with budgets of their own hold what they were given.
import {
  CachedBatch,
  Decoder,
  createCompression,
  createSyntheticTokenizer,
  decodeGreedy,
  generateSynthetic,
  initBackend,
  loadPlugins,
  configSchema,
  scorerOptions,
  tf,
  type TraceBudget,
} from '@kava/core/internal';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { tinyConfig } from './model-helpers.js';

const tokenizer = createSyntheticTokenizer();
const config = tinyConfig({ vocabSize: tokenizer.vocabSize, maxPositionEmbeddings: 512 });
const prompts = generateSynthetic({ trainSize: 0, testSize: 3, minSteps: 1, maxSteps: 3, seed: 5 }).test.map((p) =>
  tokenizer.encode(p.question),
);
const { registry } = await loadPlugins([], { builtins: BUILTIN_PLUGINS });
const budgetOf = (scorer: string, budget: number, interval: number, evictor = 'topk'): TraceBudget => {
  const compression = configSchema.parse({ compression: { scorer, evictor } }).compression;
  compression.options = scorerOptions(compression, registry); // the scorer's defaults, as resolveConfig fills them
  return { compression: createCompression(compression, registry), budget, interval };
};

/** Greedy tokens for every prompt (no stop token), with `prepare` run on the batch before the trace. */
function decode(
  backbone: Decoder,
  steps: number,
  prepare?: (batch: CachedBatch) => void,
  everyStep?: (b: CachedBatch) => void,
) {
  const batch = new CachedBatch(backbone, tokenizer.padId, prompts.length);
  try {
    const first = batch.feed(prompts);
    prepare?.(batch);
    if (!everyStep)
      return { tokens: decodeGreedy(batch, first, new Set(), steps).map((d) => d.tokens), batch: [...batch.peak] };
    // Token by token, so the cache can be compressed after each one.
    const out = first.map((t) => [t]);
    let next = first;
    for (let s = 1; s < steps; s++) {
      next = batch.feed(next.map((t) => [t]));
      everyStep(batch);
      next.forEach((t, b) => out[b]!.push(t));
    }
    return { tokens: out, batch: [...batch.peak] };
  } finally {
    batch.dispose();
  }
}

describe.each(['cpu', 'wasm'] as const)('decoding under a KV budget on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  const backbone = Decoder.random(config, 11);
  afterAll(() => backbone.dispose());

  test.each([
    ['keydiff', 'topk'],
    ['snapkv', 'topk'],
    ['h2o', 'topk'],
    ['attention', 'topk'], // reads the answer's queries: the last trace tokens' stand in
    ['rkv', 'topk'],
    ['keydiff', 'pyramid'],
    ['snapkv', 'adakv'],
  ])(
    'a budget larger than the trace, compressed after every token, writes exactly the tokens of no budget (%s, %s)',
    (scorer, evictor) => {
      const plain = decode(backbone, 12).tokens;
      const compressed = decode(
        backbone,
        12,
        (batch) => batch.startTraceBudget(budgetOf(scorer, 64, 1, evictor)),
        (batch) => batch.compressTraceNow(),
      ).tokens;
      expect(compressed).toEqual(plain);
    },
  );

  test('a cache whose heads hold different entries masks each head on its own', () => {
    const ids = tf.tensor2d([prompts[0]!.slice(0, 6)], [1, 6], 'int32');
    const { cache } = backbone.forward({ inputIds: ids, returnCache: true, logits: false });
    const next = tf.tensor2d([[3]], [1, 1], 'int32');
    const positionIds = tf.tensor2d([[6]], [1, 1], 'int32');
    const held = (heads: number[][]) => cache!.keys.map(() => tf.tensor3d([heads], [1, 2, 6]));
    const logits = (c: typeof cache) =>
      Array.from(backbone.forward({ inputIds: next, positionIds, cache: c }).logits!.dataSync());
    const all = logits(cache);
    const dropped = [1, 1, 0, 1, 1, 1];
    // Every head without entry 2 is the shared mask without it.
    const shared = logits({ ...cache!, mask: tf.tensor2d([dropped]) });
    const everyHead = logits({ ...cache!, headMask: held([dropped, dropped]) });
    everyHead.forEach((v, i) => expect(v).toBeCloseTo(shared[i]!, 5));
    // One head without it is neither.
    const oneHead = logits({ ...cache!, headMask: held([dropped, [1, 1, 1, 1, 1, 1]]) });
    expect(Math.max(...oneHead.map((v, i) => Math.abs(v - shared[i]!)))).toBeGreaterThan(1e-4);
    expect(Math.max(...oneHead.map((v, i) => Math.abs(v - all[i]!)))).toBeGreaterThan(1e-4);
    expect(() => backbone.forward({ inputIds: next, cache: { ...cache!, headMask: [tf.ones([1, 2, 6])] } })).toThrow(
      /forward: the cache's headMask must be 2 tensors \[1,2,6\]/,
    );
  });

  test('a small budget keeps the trace at most budget + interval entries, and positions keep counting', () => {
    let longest = 0;
    const batch = new CachedBatch(backbone, tokenizer.padId, prompts.length);
    try {
      const first = batch.feed(prompts);
      const question = batch.cachedEntries();
      batch.startTraceBudget(budgetOf('keydiff', 4, 3));
      let next = first;
      for (let s = 0; s < 20; s++) {
        next = batch.feed(next.map((t) => [t]));
        batch.cachedEntries().forEach((n, b) => (longest = Math.max(longest, n - question[b]!)));
      }
      // The trace grows to budget + interval (the peak), then is cut back to the budget.
      expect(batch.peak.map((p, b) => p - question[b]!)).toEqual(prompts.map(() => 4 + 3));
      expect(longest).toBeLessThanOrEqual(4 + 3 - 1);
      // Positions keep counting the tokens written, not the entries kept.
      expect(batch.held).toEqual(prompts.map((p) => p.length + 20));
    } finally {
      batch.dispose();
    }
    const tensors = tf.memory().numTensors;
    decode(backbone, 10, (batch) => batch.startTraceBudget(budgetOf('snapkv', 3, 2)));
    expect(tf.memory().numTensors).toBe(tensors); // nothing left behind by the compressions
  });

  test('heads with budgets of their own (adakv) hold what they were given, and the entries are their mean', () => {
    const tensors = tf.memory().numTensors;
    const batch = new CachedBatch(backbone, tokenizer.padId, prompts.length);
    try {
      const first = batch.feed(prompts);
      const question = batch.cachedEntries();
      // adakv's default share 0.75: a layer's two heads keep at most 0.75 · 2 · 4 = 6 entries in all
      // (fewer where one head's share would pass M = 4), so 3 or fewer each on average.
      batch.startTraceBudget(budgetOf('keydiff', 4, 3, 'adakv'));
      let next = first;
      for (let s = 0; s < 6; s++) next = batch.feed(next.map((t) => [t]));
      batch.compressTraceNow();
      const kept = batch.cachedEntries().map((n, b) => n - question[b]!);
      kept.forEach((n) => expect(n).toBeGreaterThanOrEqual(2));
      kept.forEach((n) => expect(n).toBeLessThanOrEqual(3));
      for (let s = 0; s < 10; s++) next = batch.feed(next.map((t) => [t]));
      batch.peak.forEach((p, b) => expect(p - question[b]!).toBeLessThanOrEqual(4 + 3));
      expect(batch.held).toEqual(prompts.map((p) => p.length + 16));
    } finally {
      batch.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
