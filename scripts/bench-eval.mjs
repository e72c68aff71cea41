#!/usr/bin/env node
// Evaluation throughput on a randomly initialised tiny decoder over synthetic test questions, in
// cot mode (a random model never writes <eot>, so every question writes maxCotTokens: the worst
// case), batched with the KV cache, against decoding each question without a cache (the whole
// sequence recomputed per token). Prints seconds per question and forward passes. Not a test.
//
//   npx tsc -b && node scripts/bench-eval.mjs --backend cpu --questions 32 --batch 16 --cot 32
import { parseArgs } from 'node:util';
import {
  createSyntheticTokenizer,
  Decoder,
  encodeQuestion,
  evaluate,
  generateGreedy,
  generateSynthetic,
  initBackend,
  syntheticSource,
  tf,
} from '@kava/core/app';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    questions: { type: 'string', default: '32' },
    batch: { type: 'string', default: '16' },
    cot: { type: 'string', default: '32' },
    baseline: { type: 'string', default: '4' },
  },
});
const info = await initBackend(args.backend);
const tokenizer = createSyntheticTokenizer();
const config = {
  family: 'llama',
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 128,
  intermediateSize: 256,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 32,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  maxPositionEmbeddings: 1024,
  tieWordEmbeddings: true,
  attentionBias: false,
};
const backbone = Decoder.random(config, 1);
const problems = generateSynthetic({
  trainSize: 0,
  testSize: Number(args.questions),
  minSteps: 2,
  maxSteps: 4,
  seed: 9,
}).test;
const maxCotTokens = Number(args.cot);

const report = await evaluate({ backbone, tokenizer }, syntheticSource('bench', problems).examples(), 'cot', {
  batchSize: Number(args.batch),
  maxCotTokens,
  maxNewTokens: 4,
});
console.log(`backend ${info.name}; ${report.questions} questions, batch ${args.batch}, CoT ${maxCotTokens} tokens`);
console.log(
  `cached, batched:   ${(report.wallSeconds / report.questions).toFixed(3)} s/question, ` +
    `${report.forwardPassesPerQuestion.toFixed(1)} passes/question, ${report.kvEntriesPerQuestion.toFixed(1)} KV entries at answer time`,
);

// Baseline: one question at a time, no cache, CoT only (the answer phase would add more).
const n = Math.min(Number(args.baseline), problems.length);
const botId = tokenizer.tokenToId('<bot>');
const started = performance.now();
let passes = 0;
for (const p of problems.slice(0, n)) {
  const prompt = [...encodeQuestion(tokenizer, p.question), botId];
  const inputIds = tf.tensor2d([prompt], [1, prompt.length], 'int32');
  passes += generateGreedy(backbone, { inputIds, maxNewTokens: maxCotTokens, useCache: false }).forwardPasses;
  inputIds.dispose();
}
console.log(
  `no cache, single: ${((performance.now() - started) / 1000 / n).toFixed(3)} s/question for the CoT alone (${n} questions, ${(passes / n).toFixed(1)} passes each)`,
);
backbone.dispose();
