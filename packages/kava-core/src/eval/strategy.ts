import type { LoadedModel } from '../contracts/backbone.js';
import type { LatentReading } from '../latent/inspect.js';

/** One question's generation: what the model wrote and what it cost. */
export interface Generation {
  /** Text decoded after the answer prefix (special tokens dropped). */
  answerText: string;
  /** The chain of thought the model wrote (cot mode), without `<eot>`. */
  trace?: string;
  /** Forward passes this question took part in (a batched pass counts once for each row in it). */
  forwardPasses: number;
  /** Tokens the model generated: CoT and answer, stop tokens included. */
  generatedTokens: number;
  /** Real (unpadded) positions in the KV cache, per layer and KV head, when answer decoding starts. */
  kvEntries: number;
  /** Under a KV budget (eval.kvBudget): the most entries the cache held at once before the answer. */
  peakKvEntries?: number;
  /** What each latent thought held (latent mode, when inspection was asked for). */
  latents?: LatentReading[];
}

/**
 * How one evaluation mode turns a batch of questions into answers. `cot` and `direct` live in
 * this folder; the latent student (prefix, M latents, `<eot>`, answer) implements the same
 * interface next to the trainer.
 */
export interface GenerationStrategy {
  /** "cot", "direct", "latent", ... (written into predictions and reports). */
  readonly mode: string;
  /** Fewest questions a batch may hold (evaluation joins a smaller last batch to the one before). */
  readonly minBatch?: number;
  /** Generates for every question, in order; the batch shares one KV cache. */
  generate(model: LoadedModel, questions: readonly string[]): Promise<Generation[]>;
}
