import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import { evaluate, type EvalReport } from '../eval/evaluate.js';
import { textStrategy } from '../eval/text-strategies.js';
import type { GenerationStrategy } from '../eval/strategy.js';
import { latentStrategy } from '../latent/strategy.js';
import type { KavaModel } from './model-setup.js';

/** The generation strategy for `mode`, with the run's encoding limits. */
export function strategyFor(
  model: KavaModel,
  config: KavaConfig,
  mode: KavaConfig['eval']['mode'] = config.eval.mode,
  inspect?: { topK?: number },
): GenerationStrategy {
  const encode = { maxQuestionTokens: config.train.maxQuestionTokens };
  if (mode === 'latent')
    return latentStrategy(model.latent, {
      maxNewTokens: config.eval.maxNewTokens,
      encode,
      ...(inspect ? { inspect } : {}),
    });
  return textStrategy(mode, { maxNewTokens: config.eval.maxNewTokens, maxCotTokens: config.eval.maxCotTokens, encode });
}

/** Evaluates a run's model on examples (eval.limit, eval.batchSize), writing predictions JSONL when asked. */
export async function evaluateModel(
  model: KavaModel,
  examples: readonly Example[],
  config: KavaConfig,
  options: { mode?: KavaConfig['eval']['mode']; predictionsFile?: string; onProgress?: (done: number) => void } = {},
): Promise<EvalReport> {
  return evaluate(model, examples, strategyFor(model, config, options.mode), {
    batchSize: config.eval.batchSize,
    limit: config.eval.limit,
    ...(options.predictionsFile ? { predictionsFile: options.predictionsFile } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
