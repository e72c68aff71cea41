import type { LoadedModel } from '../contracts/backbone.js';

/** What one latent thought holds, in tokens a person can read. */
export interface LatentReading {
  /** 1-based index of the latent (z_1 .. z_M). */
  latent: number;
  /**
   * For each pass that ran the latent (Jacobi: iterations 1..T, then the final pass; autoregressive:
   * its one pass), the vocabulary tokens its hidden state is nearest to: the top of the LM head's
   * distribution at its position ("logit lens").
   */
  passes: { top: { token: string; id: number; p: number }[] }[];
  /**
   * How much each Jacobi iteration moved the latent's input: ‖e⁽ᵗ⁾ − e⁽ᵗ⁻¹⁾‖ / ‖e⁽ᵗ⁻¹⁾‖ for t = 1..T
   * (0 for z_1, which is fixed; empty in autoregressive mode).
   */
  inputChange: number[];
}

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
