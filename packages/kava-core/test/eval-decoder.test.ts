import {
  ANSWER_PREFIX,
  CachedBatch,
  cotStrategy,
  latentStrategy,
  Projection,
  studentForward,
  type LatentSettings,
  createSyntheticTokenizer,
  Decoder,
  directStrategy,
  encodeQuestion,
  generateGreedy,
  generateSynthetic,
  tf,
  type DecoderConfig,
} from '@kava/core/internal';

/*
 * The evaluator on the real decoder (randomly initialised, tiny): batched, left-padded, cached
 * greedy decoding must write exactly what the decoder's own no-cache reference path
 * (generateGreedy with useCache: false, one unpadded question at a time) writes.
 */
const tokenizer = createSyntheticTokenizer();
const config: DecoderConfig = {
  family: 'llama',
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 32,
  intermediateSize: 64,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  maxPositionEmbeddings: 512,
  tieWordEmbeddings: true,
  attentionBias: false,
};
const questions = generateSynthetic({ trainSize: 0, testSize: 3, minSteps: 1, maxSteps: 3, seed: 5 }).test.map(
  (p) => p.question,
);

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
    const generations = await cotStrategy({ maxCotTokens: 5, maxNewTokens: 4 }).generate(
      { backbone, tokenizer },
      questions,
    );
    questions.forEach((q, b) => {
      const prompt = [...encodeQuestion(tokenizer, q), botId];
      const cot = reference(backbone, prompt, 5, eotId);
      expect(cot.length).toBeGreaterThan(0);
      expect(generations[b]!.trace).toBe(tokenizer.decode(cot).trim());
      const answer = reference(backbone, [...prompt, ...cot, eotId, ...prefix], 4, tokenizer.eosId);
      expect(generations[b]!.answerText).toBe(tokenizer.decode(answer).trim());
    });
  });

  it('latent mode: answer decoding over the student cache equals recomputing the whole student pass per token', async () => {
    const botId = tokenizer.tokenToId('<bot>')!;
    const eotId = tokenizer.tokenToId('<eot>')!;
    const projection = new Projection(config.hiddenSize, 11);
    const latent: LatentSettings = { count: 3, mode: 'jacobi', iterations: 2, projection, placeholderId: botId };
    const question = questions[0]!;
    const [generation] = await latentStrategy(latent, { maxNewTokens: 4 }).generate({ backbone, tokenizer }, [
      question,
    ]);
    // Reference: for each answer token, a fresh student pass over Q <bot>, M latents, <eot> prefix + tokens so far.
    const prompt = [...encodeQuestion(tokenizer, question), botId];
    const written: number[] = [];
    for (let k = 0; k < 4; k++) {
      const segment = [eotId, ...prefix, ...written];
      const next = tf.tidy(() => {
        const r = studentForward(backbone, latent, {
          prefixIds: tf.tensor2d([prompt], [1, prompt.length], 'int32'),
          prefixMask: tf.ones([1, prompt.length], 'int32'),
          prefixLast: tf.tensor1d([prompt.length - 1], 'int32'),
          segmentIds: tf.tensor2d([segment], [1, segment.length], 'int32'),
          segmentMask: tf.ones([1, segment.length], 'int32'),
        });
        const l = r.logits!;
        return tf.argMax(tf.reshape(tf.slice(l, [0, l.shape[1]! - 1, 0], [1, 1, -1]), [-1])).dataSync()[0]!;
      });
      written.push(next);
      if (next === tokenizer.eosId) break;
    }
    const text = written[written.length - 1] === tokenizer.eosId ? written.slice(0, -1) : written;
    expect(generation!.answerText).toBe(tokenizer.decode(text).trim());
    expect(generation!.generatedTokens).toBe(written.length);
    // 1 prefix pass + T Jacobi passes + the final latent pass (which yields the first answer token) + one per further token
    expect(generation!.forwardPasses).toBe(1 + 2 + 1 + (written.length - 1));
    expect(generation!.kvEntries).toBe(prompt.length + 3 + 1 + prefix.length);
    projection.dispose();
  });
});
