import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addReasoningTokens,
  answerLevels,
  ANSWER_PREFIX,
  cotStrategy,
  createWordLevelTokenizer,
  directStrategy,
  evaluate,
  gsm8kAugFormat,
  infer,
  tf,
  wordPieces,
  type Backbone,
  type DecoderConfig,
  type ForwardRequest,
  type ForwardResult,
  type KVCache,
  type LoadedModel,
  type Prediction,
} from '@kava/core/internal';
import { REPO, tempProject } from './helpers.js';

/*
 * A test double of the Backbone contract whose predictions are known: it "answers" by looking the
 * question up in a script. Its KV cache really is its memory — cache.keys[0] holds the token ids
 * seen so far — so if the evaluator failed to pass the cache, dropped a token, or got RoPE
 * positions or padding wrong, the double would answer differently (or throw).
 */
const FIXTURE = join(REPO, 'packages/kava-core/test/fixtures/data/eval-arith.jsonl');
const SCRIPT: Record<string, { direct: string; cot: string; cotAnswer: string }> = {
  'Tom has 3 boxes of 4 pens . How many pens ?': { direct: '12', cot: '<<3*4=12>>', cotAnswer: '12' },
  'Mia has 5 pens and gets 2 more . How many pens ?': { direct: '7', cot: '<<5+2=7>>', cotAnswer: '7' },
  'Ben has 9 pens and loses 4 . How many pens ?': { direct: '13', cot: '<<9-4=5>>', cotAnswer: '5' },
  // writes a CoT longer than maxCotTokens (10): the evaluator must close it with <eot> itself
  'Ava has 8 pens and gives half away . How many pens ?': { direct: '4', cot: '<<8/2=4>> <<4*1=4>>', cotAnswer: '4' },
  'Leo has 6 boxes of 2 pens . How many pens ?': { direct: '8', cot: '<<6*2=12>>', cotAnswer: 'pens' },
};
// Hand count against the gold answers (12, 7, 5, 4, 12): direct 3 of 5 right, cot 4 of 5.

const words = Object.entries(SCRIPT).flatMap(([q, s]) =>
  wordPieces(`${q} ${s.direct} ${s.cot} ${s.cotAnswer} ${ANSWER_PREFIX}`),
);
const tokenizer = createWordLevelTokenizer(words);
const { botId, eotId } = addReasoningTokens(tokenizer);
const prefix = tokenizer.encode(ANSWER_PREFIX);

interface Call {
  newLength: number;
  cacheLength: number;
}

class ScriptedBackbone implements Backbone {
  readonly config: DecoderConfig = {
    family: 'scripted',
    vocabSize: tokenizer.vocabSize,
    hiddenSize: 1,
    intermediateSize: 1,
    numLayers: 1,
    numHeads: 1,
    numKvHeads: 1,
    headDim: 1,
    rmsNormEps: 1e-6,
    ropeTheta: 1e4,
    ropeScaling: null,
    maxPositionEmbeddings: 4096,
    tieWordEmbeddings: true,
    attentionBias: false,
  };
  readonly calls: Call[] = [];
  private readonly scripts = new Map(Object.entries(SCRIPT).map(([q, s]) => [tokenizer.encode(q).join(','), s]));

  /** The next token after a row's real context. */
  next(context: number[]): number {
    const eos = tokenizer.eosId;
    const bot = context.indexOf(botId);
    const startsWith = (xs: number[], ys: number[]) => ys.every((y, i) => xs[i] === y);
    if (bot >= 0) {
      const script = this.scripts.get(context.slice(0, bot).join(','));
      if (!script) return eos;
      const after = context.slice(bot + 1);
      const eot = after.indexOf(eotId);
      const cot = tokenizer.encode(script.cot);
      if (eot < 0) return after.length < cot.length ? cot[after.length]! : eotId;
      const tail = after.slice(eot + 1);
      if (!startsWith(tail, prefix)) return eos;
      const answer = tokenizer.encode(` ${script.cotAnswer}`);
      const written = tail.length - prefix.length;
      return written < answer.length ? answer[written]! : eos;
    }
    for (let at = context.length - prefix.length; at >= 0; at--) {
      if (!startsWith(context.slice(at), prefix)) continue;
      const script = this.scripts.get(context.slice(0, at).join(','));
      if (!script) return eos;
      const answer = tokenizer.encode(` ${script.direct}`);
      const written = context.length - at - prefix.length;
      return written < answer.length ? answer[written]! : eos;
    }
    return tokenizer.padId; // still inside the prompt
  }

  forward(request: ForwardRequest): ForwardResult {
    const ids = request.inputIds!.arraySync() as number[][];
    const [B, S] = [ids.length, ids[0]!.length];
    const mask = (request.attentionMask?.arraySync() as number[][] | undefined) ?? ids.map((r) => r.map(() => 1));
    const positions = request.positionIds!.arraySync() as number[][];
    const cachedIds = request.cache
      ? (request.cache.keys[0]!.arraySync() as number[][][][]).map((r) => r[0]!.map((k) => k[0]!))
      : ids.map(() => []);
    const cachedMask = request.cache ? (request.cache.mask.arraySync() as number[][]) : ids.map(() => []);
    this.calls.push({ newLength: S, cacheLength: request.cache?.length ?? 0 });
    const logits: number[][][] = [];
    for (let b = 0; b < B; b++) {
      const context = cachedIds[b]!.filter((_, i) => cachedMask[b]![i] === 1);
      const row: number[][] = [];
      for (let j = 0; j < S; j++) {
        if (mask[b]![j] === 1) {
          if (positions[b]![j] !== context.length)
            throw new Error(`row ${b}: position ${positions[b]![j]} for real token ${context.length}`);
          context.push(ids[b]![j]!);
        }
        const oneHot = new Array<number>(this.config.vocabSize).fill(0);
        oneHot[this.next(context)] = 1;
        row.push(oneHot);
      }
      logits.push(row);
    }
    const out: ForwardResult = { logits: tf.tensor3d(logits) };
    if (request.returnCache) {
      const key = tf.tidy(() => {
        const fresh = tf.reshape(tf.cast(request.inputIds!, 'float32'), [B, 1, S, 1]);
        return request.cache ? tf.concat([request.cache.keys[0]!, fresh], 2) : fresh;
      });
      const newMask = tf.tidy(() => {
        const fresh = tf.cast(request.attentionMask ?? tf.onesLike(request.inputIds!), 'float32');
        return request.cache ? tf.concat([request.cache.mask, fresh], 1) : fresh;
      });
      const cache: KVCache = {
        keys: [key],
        values: [tf.clone(key)],
        mask: newMask,
        length: (request.cache?.length ?? 0) + S,
      };
      out.cache = cache;
    }
    return out;
  }

  embed(ids: tf.Tensor): tf.Tensor {
    return tf.oneHot(tf.cast(ids, 'int32'), this.config.vocabSize);
  }
  trainableVariables(): tf.Variable[] {
    return [];
  }
  resizeVocab(): void {
    /* fixed vocabulary */
  }
  dispose(): void {
    /* holds no tensors */
  }
}

const examples = () => gsm8kAugFormat.open(FIXTURE).examples();
const model = (): LoadedModel & { backbone: ScriptedBackbone } => ({ backbone: new ScriptedBackbone(), tokenizer });
const len = (text: string) => tokenizer.encode(text).length;

describe('answer levels', () => {
  it('a model that gives one answer to everything scores the majority level, and shows it', () => {
    const golds = ['12', '7', '12', '#### 12', '3'];
    expect(answerLevels(golds, [12, 12, 12, 12, 12])).toEqual({
      majorityLevel: 0.6,
      mostCommonPrediction: { predicted: 12, share: 1 },
    });
    expect(answerLevels(golds, [null, null, 7, 3, null]).mostCommonPrediction).toEqual({ predicted: null, share: 0.6 });
  });
});

describe('evaluate with a scripted backbone (known predictions)', () => {
  it('direct: accuracy equals the hand count; per-question passes, tokens and KV entries; JSONL predictions', async () => {
    const m = model();
    const file = join(tempProject(), 'out/predictions.jsonl');
    const before = tf.memory().numTensors;
    const report = await evaluate(m, examples(), directStrategy({ maxNewTokens: 8 }), {
      batchSize: 2,
      predictionsFile: file,
    });
    expect(tf.memory().numTensors).toBe(before); // every tensor disposed
    expect(report).toMatchObject({ mode: 'direct', questions: 5, correct: 3, accuracy: 0.6, predictionsFile: file });
    // Gold answers 12, 7, 5, 4, 12: always answering 12 would score 2/5; the model's answers all differ.
    expect(report).toMatchObject({ majorityLevel: 0.4, mostCommonPrediction: { predicted: 12, share: 0.2 } });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Prediction);
    expect(lines.map((p) => [p.answerText, p.predicted, p.gold, p.correct])).toEqual([
      ['12', 12, '12', true],
      ['7', 7, '7', true],
      ['13', 13, '5', false],
      ['4', 4, '4', true],
      ['8', 8, '12', false],
    ]);
    const tom = lines[0]!;
    // prompt = question (12 tokens) + "The answer is :" (4); one pass for the prompt, one for "12"; wrote "12" <eos>
    expect({ kv: tom.kvEntries, passes: tom.forwardPasses, tokens: tom.generatedTokens }).toEqual({
      kv: 12 + 4,
      passes: 2,
      tokens: 2,
    });
    expect(tom.id).toBe(`${FIXTURE}:1`);
    expect(report.forwardPassesPerQuestion).toBe(2);
  });

  it('cot: writes the trace, closes an over-long one with <eot>, then answers; accuracy equals the hand count', async () => {
    const m = model();
    const report = await evaluate(m, examples(), cotStrategy({ maxCotTokens: 10, maxNewTokens: 8 }), {
      batchSize: 5,
      predictionsFile: join(tempProject(), 'p.jsonl'),
    });
    expect(report).toMatchObject({ mode: 'cot', questions: 5, correct: 4, accuracy: 0.8 });
    const lines = readFileSync(report.predictionsFile!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Prediction);
    expect(lines.map((p) => [p.trace, p.answerText, p.correct])).toEqual([
      ['<< 3 * 4 = 12 >>', '12', true],
      ['<< 5 + 2 = 7 >>', '7', true],
      ['<< 9 - 4 = 5 >>', '5', true],
      ['<< 8 / 2 = 4 >> << 4 *', '4', true], // cut at 10 tokens
      ['<< 6 * 2 = 12 >>', 'pens', false],
    ]);
    // Tom: Q (12) + <bot> + C (7) + <eot> + prefix (4) cached at answer time; passes: prompt, 7 CoT tokens
    // (the 8th written token is <eot>, fed with the prefix in one pass), prefix pass, "12" -> 10; wrote 8 + 2 tokens.
    expect({ kv: lines[0]!.kvEntries, passes: lines[0]!.forwardPasses, tokens: lines[0]!.generatedTokens }).toEqual({
      kv: 25,
      passes: 10,
      tokens: 10,
    });
    // Ava: 10 CoT tokens, no <eot> written: 9 fed one by one, the 10th fed with <eot> and the prefix.
    expect({ kv: lines[3]!.kvEntries, passes: lines[3]!.forwardPasses, tokens: lines[3]!.generatedTokens }).toEqual({
      kv: 13 + 1 + 10 + 1 + 4,
      passes: 12,
      tokens: 12,
    });
  });

  it('reuses the KV cache: after the prompt, each pass reads only the new tokens', async () => {
    const m = model();
    await evaluate(m, examples(), cotStrategy({ maxCotTokens: 10, maxNewTokens: 8 }), { batchSize: 5 });
    const calls = m.backbone.calls;
    const longestPrompt = Math.max(...Object.keys(SCRIPT).map((q) => len(q) + 1));
    expect(calls[0]).toEqual({ newLength: longestPrompt, cacheLength: 0 });
    let cached = 0;
    for (const call of calls) {
      expect(call.cacheLength).toBe(cached); // nothing cached is ever fed again
      cached += call.newLength;
    }
    // one wide pass for the prompt, one for "<eot> The answer is :" (+ the unfed 10th CoT token), the rest one token each
    const wide = calls.filter((c) => c.newLength > 1).map((c) => c.newLength);
    expect(wide).toEqual([longestPrompt, 1 + 1 + prefix.length]);
    // the longest CoT is 10 tokens (9 single-token passes), the longest answer 2 tokens (1 pass)
    expect(calls).toHaveLength(1 + 9 + 1 + 1);
  });

  it('splits a wide feed whose logits exceed the budget into two passes, with the same answers', async () => {
    const m = model();
    const result = await infer(
      m,
      'Ben has 9 pens and loses 4 . How many pens ?',
      cotStrategy({ logitsBudgetBytes: 1 }),
    );
    expect(result).toMatchObject({ answerText: '5', trace: '<< 9 - 4 = 5 >>', forwardPasses: 12 }); // 10 + 1 extra for the prompt and the bridge
    expect(m.backbone.calls.slice(0, 2)).toEqual([
      { newLength: 12, cacheLength: 0 },
      { newLength: 1, cacheLength: 12 },
    ]);
  });

  it('answers do not depend on the batch size (padding is masked, positions per row)', async () => {
    const run = async (batchSize: number) => {
      const file = join(tempProject(), 'p.jsonl');
      await evaluate(model(), examples(), cotStrategy({ maxCotTokens: 10 }), { batchSize, predictionsFile: file });
      return readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const p = JSON.parse(l) as Prediction;
          return [p.trace, p.answerText, p.kvEntries, p.forwardPasses];
        });
    };
    expect(await run(1)).toEqual(await run(3));
  });

  it('respects limit and reports zeros for no questions', async () => {
    expect((await evaluate(model(), examples(), 'direct', { limit: 2 })).questions).toBe(2);
    expect(await evaluate(model(), examples(), 'cot', { maxCotTokens: 10 })).toMatchObject({ mode: 'cot', correct: 4 });
    expect(await evaluate(model(), [], directStrategy())).toMatchObject({
      questions: 0,
      accuracy: 0,
      forwardPassesPerQuestion: 0,
    });
  });
});

describe('infer', () => {
  it('cot returns the written trace, the answer and its cost', async () => {
    const result = await infer(model(), 'Ben has 9 pens and loses 4 . How many pens ?', cotStrategy());
    expect(result).toEqual({
      answerText: '5',
      answer: 5,
      trace: '<< 9 - 4 = 5 >>',
      forwardPasses: 10,
      generatedTokens: 10,
      kvEntries: 12 + 1 + 7 + 1 + 4,
    });
  });

  it('direct (by name) returns the answer without a trace', async () => {
    const result = await infer(model(), 'Ben has 9 pens and loses 4 . How many pens ?', 'direct');
    expect(result).toEqual({ answerText: '13', answer: 13, forwardPasses: 2, generatedTokens: 2, kvEntries: 12 + 4 });
  });

  it('cot mode needs <bot>/<eot> in the tokenizer', async () => {
    const plain = createWordLevelTokenizer(['a']);
    await expect(infer({ backbone: new ScriptedBackbone(), tokenizer: plain }, 'a', cotStrategy())).rejects.toThrow(
      'the tokenizer has no <bot>/<eot> tokens',
    );
  });
});
