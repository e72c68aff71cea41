import {
  ANSWER_PREFIX, CachedBatch, cotStrategy, createSyntheticTokenizer, Decoder, directStrategy, encodeQuestion, generateGreedy,
  generateSynthetic, tf, type DecoderConfig,
} from '@kava/core';

/*
 * The evaluator on the real decoder (randomly initialised, tiny): batched, left-padded, cached
 * greedy decoding must write exactly what the decoder's own no-cache reference path
 * (generateGreedy with useCache: false, one unpadded question at a time) writes.
 */
const tokenizer = createSyntheticTokenizer();
const config: DecoderConfig = {
  family: 'llama', vocabSize: tokenizer.vocabSize, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4,
  numKvHeads: 2, headDim: 8, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null, maxPositionEmbeddings: 512,
  tieWordEmbeddings: true, attentionBias: false,
};
const questions = generateSynthetic({ trainSize: 0, testSize: 3, minSteps: 1, maxSteps: 3, seed: 5 }).test.map((p) => p.question);

function reference(backbone: Decoder, prompt: number[], maxNewTokens: number, stop: number): number[] {
  const inputIds = tf.tensor2d([prompt], [1, prompt.length], 'int32');
  try {
    return generateGreedy(backbone, { inputIds, maxNewTokens, eosId: stop, useCache: false }).tokens[0]!;
  } finally {
    inputIds.dispose();
  }
}

describe('evaluation on the real decoder', () => {
  const backbone = Decoder.random(config, 7);
  afterAll(() => backbone.dispose());
  const prefix = tokenizer.encode(ANSWER_PREFIX);

  it('direct mode: batched cached decoding equals the no-cache reference per question', async () => {
    expect(new Set(questions.map((q) => tokenizer.encode(q).length)).size).toBeGreaterThan(1); // rows really are padded
    const generations = await directStrategy({ maxNewTokens: 6 }).generate({ backbone, tokenizer }, questions);
    questions.forEach((q, b) => {
      const expected = reference(backbone, [...encodeQuestion(tokenizer, q), ...prefix], 6, tokenizer.eosId);
      expect(expected.length).toBeGreaterThan(0);
      expect(generations[b]!.answerText).toBe(tokenizer.decode(expected).trim());
      expect(generations[b]!.kvEntries).toBe(tokenizer.encode(q).length + prefix.length);
    });
  });

  it('cot mode: the written trace equals the reference continuation of Q <bot>', async () => {
    const botId = tokenizer.tokenToId('<bot>')!;
    const eotId = tokenizer.tokenToId('<eot>')!;
    const generations = await cotStrategy({ maxCotTokens: 5, maxNewTokens: 4 }).generate({ backbone, tokenizer }, questions);
    questions.forEach((q, b) => {
      const prompt = [...encodeQuestion(tokenizer, q), botId];
      const cot = reference(backbone, prompt, 5, eotId);
      expect(cot.length).toBeGreaterThan(0);
      expect(generations[b]!.trace).toBe(tokenizer.decode(cot).trim());
      const answer = reference(backbone, [...prompt, ...cot, eotId, ...prefix], 4, tokenizer.eosId);
      expect(generations[b]!.answerText).toBe(tokenizer.decode(answer).trim());
    });
  });

  it('CachedBatch for latent students: embeddings fed with commit equal the tokens; without commit the cache is untouched', () => {
    const prompts = questions.map((q) => [...encodeQuestion(tokenizer, q), tokenizer.tokenToId('<bot>')!]);
    const follow = [[5, 6, 7], [8, 9, 10], [11, 12, 13]];
    const byIds = new CachedBatch(backbone, tokenizer.padId, 3);
    byIds.feed(prompts);
    const expected = byIds.feed(follow);
    const byEmbeds = new CachedBatch(backbone, tokenizer.padId, 3);
    const { hidden } = byEmbeds.feedDetailed(prompts, { hidden: true });
    expect(hidden).toHaveLength(config.numLayers + 1);
    expect(hidden![0]!.shape).toEqual([3, config.hiddenSize]);
    // row 0's last hidden state equals an unbatched, uncached forward over its prompt alone
    const alone = tf.tidy(() => {
      const out = backbone.forward({ inputIds: tf.tensor2d([prompts[0]!], [1, prompts[0]!.length], 'int32'), hidden: true, logits: false });
      const h = out.hidden![config.numLayers]!;
      return tf.slice(h, [0, h.shape[1]! - 1, 0], [1, 1, -1]).reshape([-1]);
    });
    const row0 = tf.tidy(() => tf.slice(hidden![config.numLayers]!, [0, 0], [1, -1]).reshape([-1]));
    expect(Math.max(...Array.from(tf.tidy(() => tf.abs(tf.sub(alone, row0))).dataSync()))).toBeLessThan(1e-4);
    tf.dispose([...hidden!, alone, row0]);
    const held = [...byEmbeds.held];
    const embeds = tf.tidy(() => backbone.embed(tf.tensor2d(follow, [3, 3], 'int32')));
    const peek = byEmbeds.forwardEmbeds(embeds, { commit: false, hidden: true });
    expect(byEmbeds.held).toEqual(held);
    expect(byEmbeds.cacheLength).toBe(Math.max(...prompts.map((p) => p.length)));
    tf.dispose(peek.hidden!);
    const committed = byEmbeds.forwardEmbeds(embeds, { commit: true, logits: true });
    const next = Array.from(tf.tidy(() => tf.argMax(tf.squeeze(tf.slice(committed.logits!, [0, 2, 0], [3, 1, -1]), [1]), -1)).dataSync());
    expect(next).toEqual(expected);
    expect(byEmbeds.held).toEqual(held.map((h) => h + 3));
    expect(byEmbeds.passes).toEqual([3, 3, 3]); // prompt, peek, commit
    committed.logits!.dispose();
    embeds.dispose();
    byIds.dispose();
    byEmbeds.dispose();
  });
});
