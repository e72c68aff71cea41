import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LoadedModel } from '../contracts/backbone.js';
import type { Example } from '../contracts/dataset.js';
import { answersMatch, extractAnswer } from './answer.js';
import type { Generation, GenerationStrategy } from './strategy.js';
import { textStrategy, type TextStrategyOptions } from './text-strategies.js';

/** Batch and output options; the text-strategy options apply when `mode` is given by name. */
export interface EvaluateOptions extends TextStrategyOptions {
  /** Questions decoded together (eval.batchSize). Default 32. */
  batchSize?: number;
  /** Evaluate at most this many questions. */
  limit?: number | null;
  /** Writes one JSON line per question (a Prediction) here. */
  predictionsFile?: string;
  /** Called after each batch with the questions done so far. */
  onProgress?: (done: number) => void;
  /** Checked before each batch: once aborted, the evaluation stops with the signal's reason (an AbortError). */
  signal?: AbortSignal;
}

/** One question's outcome, as written to the predictions JSONL. */
export interface Prediction extends Generation {
  id: string;
  question: string;
  gold: string;
  /** The number extracted from answerText (null: none). */
  predicted: number | null;
  correct: boolean;
}

/** An evaluation's result: accuracy and the cost per question (passes, tokens, KV entries, time). */
export interface EvalReport {
  mode: string;
  questions: number;
  correct: number;
  /** correct / questions (0 when there are none). */
  accuracy: number;
  /** Means over questions. */
  forwardPassesPerQuestion: number;
  generatedTokensPerQuestion: number;
  kvEntriesPerQuestion: number;
  /** Under a KV budget (eval.kvBudget): the most entries the cache held at once, mean per question. */
  peakKvEntriesPerQuestion?: number;
  wallSeconds: number;
  predictionsFile?: string;
  /**
   * The latent-usage check (latent mode, `eval.latentUsage`): accuracy with the latents of another
   * question of the batch, and with the placeholder embedding in every latent slot (no rollout).
   * Near `accuracy`: the answers do not depend on the latents.
   */
  accuracyLatentsShuffled?: number;
  accuracyLatentsPlaceholder?: number;
  /** Their predictions files. */
  latentUsagePredictions?: { shuffled: string; placeholder: string };
  /**
   * What answering without looking at the question scores: the share of questions whose gold
   * answer is the most common one. An accuracy near it is chance, not reasoning.
   */
  majorityLevel?: number;
  /** The model's most frequent predicted number (null: no number) and the share of questions it gave it to. */
  mostCommonPrediction?: { predicted: number | null; share: number };
}

/** The most frequent value of `values` and how often it occurs (the first one met wins ties). */
function mode<T>(values: readonly T[]): { value: T | undefined; count: number } {
  const counts = new Map<T, number>();
  let best: { value: T | undefined; count: number } = { value: undefined, count: 0 };
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > best.count) best = { value: v, count: c };
  }
  return best;
}

/**
 * The majority-answer level of an evaluation and the model's most frequent answer: a model that
 * gives one answer to every question scores exactly the share of that answer, which reads as
 * progress unless it is said.
 */
export function answerLevels(
  golds: readonly string[],
  predictions: readonly (number | null)[],
): { majorityLevel: number; mostCommonPrediction: { predicted: number | null; share: number } } {
  const n = Math.max(1, golds.length);
  const gold = mode(golds.map((g) => extractAnswer(g) ?? g));
  const predicted = mode(predictions);
  return {
    majorityLevel: gold.count / n,
    mostCommonPrediction: {
      predicted: predicted.value ?? null,
      share: predicted.count / Math.max(1, predictions.length),
    },
  };
}

/**
 * Evaluates a model on examples with a generation strategy: "cot" or "direct" by name (built with
 * `options`), or any GenerationStrategy object (the latent student's lives with the trainer):
 * batches of questions share one KV cache, answers are extracted with the GSM8K rule and compared
 * to the gold answers. Reads the examples lazily, so a large file is streamed.
 */
export async function evaluate(
  model: LoadedModel,
  examples: AsyncIterable<Example> | Iterable<Example>,
  mode: 'cot' | 'direct' | GenerationStrategy,
  options: EvaluateOptions = {},
): Promise<EvalReport> {
  const strategy = typeof mode === 'string' ? textStrategy(mode, options) : mode;
  const batchSize = Math.max(1, options.batchSize ?? 32);
  const limit = options.limit ?? Infinity;
  const started = performance.now();
  let file: Awaited<ReturnType<typeof open>> | undefined;
  if (options.predictionsFile) {
    await mkdir(dirname(options.predictionsFile), { recursive: true });
    file = await open(options.predictionsFile, 'w');
  }
  const totals: { questions: number; correct: number; passes: number; tokens: number; kv: number; peak?: number } = {
    questions: 0,
    correct: 0,
    passes: 0,
    tokens: 0,
    kv: 0,
  };
  const golds: string[] = [];
  const predictions: (number | null)[] = [];
  const run = async (batch: Example[]) => {
    // A batch is synchronous tensor work: let a stop signal's handler run before the next one.
    if (options.signal) {
      await new Promise((resolve) => setImmediate(resolve));
      options.signal.throwIfAborted();
    }
    const generations = await strategy.generate(
      model,
      batch.map((e) => e.question),
    );
    const lines: string[] = [];
    batch.forEach((example, i) => {
      const g = generations[i]!;
      const predicted = extractAnswer(g.answerText);
      const correct = answersMatch(predicted, example.answer);
      const prediction: Prediction = {
        id: example.id,
        question: example.question,
        gold: example.answer,
        ...g,
        predicted,
        correct,
      };
      totals.questions++;
      totals.correct += correct ? 1 : 0;
      golds.push(example.answer);
      predictions.push(predicted);
      totals.passes += g.forwardPasses;
      totals.tokens += g.generatedTokens;
      totals.kv += g.kvEntries;
      if (g.peakKvEntries !== undefined) totals.peak = (totals.peak ?? 0) + g.peakKvEntries;
      lines.push(JSON.stringify(prediction));
    });
    if (file) await file.write(`${lines.join('\n')}\n`);
    options.onProgress?.(totals.questions);
  };
  try {
    // A full batch waits until the next question arrives, so that a last batch smaller than the
    // strategy's minBatch can join it instead of running alone.
    let full: Example[] | null = null;
    let batch: Example[] = [];
    let taken = 0;
    for await (const example of examples) {
      if (taken >= limit) break;
      taken++;
      batch.push(example);
      if (batch.length === batchSize) {
        if (full) await run(full);
        full = batch;
        batch = [];
      }
    }
    if (full && batch.length > 0 && batch.length < (strategy.minBatch ?? 1)) {
      full = [...full, ...batch];
      batch = [];
    }
    if (full) await run(full);
    if (batch.length > 0) await run(batch);
  } finally {
    await file?.close();
  }
  const n = totals.questions;
  const mean = (x: number) => (n === 0 ? 0 : x / n);
  return {
    mode: strategy.mode,
    questions: n,
    correct: totals.correct,
    accuracy: mean(totals.correct),
    forwardPassesPerQuestion: mean(totals.passes),
    generatedTokensPerQuestion: mean(totals.tokens),
    kvEntriesPerQuestion: mean(totals.kv),
    ...(totals.peak !== undefined ? { peakKvEntriesPerQuestion: mean(totals.peak) } : {}),
    wallSeconds: (performance.now() - started) / 1000,
    ...(options.predictionsFile ? { predictionsFile: options.predictionsFile } : {}),
    ...(n > 0 ? answerLevels(golds, predictions) : {}),
  };
}

/** One question's answer: the text, its number, and the cost. */
export interface InferResult extends Generation {
  answer: number | null;
}

/** Answers one question with a strategy (cot: the written trace comes back too). */
export async function infer(
  model: LoadedModel,
  question: string,
  mode: 'cot' | 'direct' | GenerationStrategy,
  options: TextStrategyOptions = {},
): Promise<InferResult> {
  const strategy = typeof mode === 'string' ? textStrategy(mode, options) : mode;
  const [g] = await strategy.generate(model, [question]);
  return { ...g!, answer: extractAnswer(g!.answerText) };
}
