// A KV budget while the trace is written (eval.kvBudget, R-KV style): compressing the trace's
// cache keeps attention and positions right — a budget larger than the trace, compressed after
// every token, writes exactly what decoding without a budget writes — a small budget keeps the
// cache at most budget + interval entries past the question, and scorers that need the answer's
// queries, or evictors with budgets per head, are refused by name.
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
} from '@kava/core/app';
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

  test.each(['keydiff', 'snapkv', 'h2o'])(
    'a budget larger than the trace, compressed after every token, writes exactly the tokens of no budget (%s)',
    (scorer) => {
      const plain = decode(backbone, 12).tokens;
      const compressed = decode(
        backbone,
        12,
        (batch) => batch.startTraceBudget(budgetOf(scorer, 64, 1)),
        (batch) => batch.compressTraceNow(),
      ).tokens;
      expect(compressed).toEqual(plain);
    },
  );

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

  test('a scorer that reads the answer, or an evictor with budgets per head, is refused by name', () => {
    const batch = new CachedBatch(backbone, tokenizer.padId, prompts.length);
    try {
      batch.feed(prompts);
      expect(() => batch.startTraceBudget(budgetOf('attention', 4, 2))).toThrow(
        /eval\.kvBudget: scorer "attention" reads the answer's queries, which do not exist while the trace is being written/,
      );
      batch.startTraceBudget(budgetOf('keydiff', 2, 1, 'pyramid'));
      let next = prompts.map(() => 1);
      for (let s = 0; s < 2; s++) next = batch.feed(next.map((t) => [t]));
      expect(() => batch.feed(next.map((t) => [t]))).toThrow(
        /evictor "pyramid" gives layers or heads budgets of their own/,
      );
    } finally {
      batch.dispose();
    }
  });
});
