import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import { evaluate, type EvalReport } from '../eval/evaluate.js';
import { textStrategy } from '../eval/text-strategies.js';
import type { GenerationStrategy } from '../eval/strategy.js';
import { latentStrategy } from '../latent/strategy.js';
import { LATENT_SOURCES, type LatentSource } from '../latent/rollout.js';
import type { KavaModel } from '../train/model-setup.js';
import type { Registry } from '../plugin/registry.js';
import { KavaError } from '../errors.js';
import { createCompression } from '../compression/compress.js';
import type { TraceBudget } from '../eval/trace-compression.js';

/** The generation strategy for `mode`, with the run's encoding limits. */
export function strategyFor(
  model: KavaModel,
  config: KavaConfig,
  mode: KavaConfig['eval']['mode'] = config.eval.mode,
  inspect?: { topK?: number },
  latents: LatentSource = 'rollout',
  registry?: Registry,
): GenerationStrategy {
  const encode = { maxQuestionTokens: config.train.maxQuestionTokens };
  if (mode === 'latent')
    return latentStrategy(model.latent, {
      maxNewTokens: config.eval.maxNewTokens,
      encode,
      latents,
      ...(inspect ? { inspect } : {}),
    });
  return textStrategy(mode, {
    maxNewTokens: config.eval.maxNewTokens,
    maxCotTokens: config.eval.maxCotTokens,
    encode,
    ...(mode === 'cot' && config.eval.kvBudget !== null
      ? { traceBudget: traceBudgetOf(config, registry, config.train.seed) }
      : {}),
  });
}

/** eval.kvBudget as the trace budget of cot decoding, with the configured scorer and evictor. */
function traceBudgetOf(config: KavaConfig, registry: Registry | undefined, seed: number): TraceBudget {
  if (!registry)
    throw new KavaError('eval.kvBudget: the evaluation was set up without the plugin registry its scorer comes from');
  return {
    compression: createCompression(config.compression, registry),
    budget: config.eval.kvBudget!,
    interval: config.eval.kvInterval,
    answerWindow: config.eval.kvQueryWindow,
    seed,
  };
}

/** How `evaluateModel` runs: mode, where predictions go, progress, the latent-usage check, a stop signal. */
export interface EvaluateModelOptions {
  mode?: KavaConfig['eval']['mode'];
  predictionsFile?: string;
  /** Questions done so far in the pass over them with latents from `source` (each pass counts from 0). */
  onProgress?: (done: number, source: LatentSource) => void;
  /**
   * Latent mode: also evaluate with the latents shuffled across the batch and with the
   * placeholder in every latent slot (the latent-usage check; predictions beside the main file
   * as `.shuffled.` and `.placeholder.`).
   */
  latentUsage?: boolean;
  /** Stops the evaluation between batches (an AbortError). */
  signal?: AbortSignal;
  /** The plugins' registry: eval.kvBudget builds its scorer and evictor from it. */
  registry?: Registry;
}

/** Evaluates a run's model on examples (eval.limit, eval.batchSize), writing predictions JSONL when asked. */
export async function evaluateModel(
  model: KavaModel,
  examples: readonly Example[],
  config: KavaConfig,
  options: EvaluateModelOptions = {},
): Promise<EvalReport> {
  const mode = options.mode ?? config.eval.mode;
  const sources: LatentSource[] = mode === 'latent' && options.latentUsage ? [...LATENT_SOURCES] : ['rollout'];
  const reports: EvalReport[] = [];
  for (const source of sources) {
    const file =
      options.predictionsFile && source !== 'rollout'
        ? options.predictionsFile.replace(/(\.predictions)?\.jsonl$/, `.${source}$&`)
        : options.predictionsFile;
    reports.push(
      await evaluate(model, examples, strategyFor(model, config, mode, undefined, source, options.registry), {
        // Shuffling gives each question another's latents, so its batches hold two questions at least.
        batchSize: source === 'shuffled' ? Math.max(2, config.eval.batchSize) : config.eval.batchSize,
        limit: config.eval.limit,
        ...(file ? { predictionsFile: file } : {}),
        ...(options.onProgress ? { onProgress: (done: number) => options.onProgress!(done, source) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }
  const [main, shuffled, placeholder] = reports as [EvalReport, EvalReport?, EvalReport?];
  if (!shuffled || !placeholder) return main;
  return {
    ...main,
    accuracyLatentsShuffled: shuffled.accuracy,
    accuracyLatentsPlaceholder: placeholder.accuracy,
    wallSeconds: reports.reduce((s, r) => s + r.wallSeconds, 0),
    ...(shuffled.predictionsFile && placeholder.predictionsFile
      ? {
          latentUsagePredictions: {
            shuffled: shuffled.predictionsFile,
            placeholder: placeholder.predictionsFile,
          },
        }
      : {}),
  };
}
