import type { KavaConfigInput } from '../config/schema.js';

/**
 * Training settings of the tiny presets: a from-scratch model on the synthetic task that trains
 * and evaluates in minutes on a 2-core CPU. The paper's settings (batch 128, 10 epochs, M = 24)
 * are for 1B-parameter models on GSM8k; the synthetic task's traces are short (2–4 steps of
 * `<<a*b=c>>`, the last dropped), so 8 latents cover them.
 */
export const TINY_TRAINING: KavaConfigInput = {
  latent: { count: 8, iterations: 3 },
  train: {
    steps: 250,
    batchSize: 16,
    microBatchSize: 16,
    lr: 2e-3,
    weightDecay: 0.01,
    warmup: 0.05,
    checkpointEvery: 100,
    evalEvery: 0,
    maxQuestionTokens: 96,
    maxCotTokens: 64,
    maxAnswerTokens: 8,
  },
  eval: { limit: 300, batchSize: 64, maxNewTokens: 8, maxCotTokens: 64 },
};

/** A tiny backbone preset's config: the architecture's name and family, all weights trained, the CPU budget. */
export function tinyPresetConfig(preset: string, family: string): KavaConfigInput {
  return { ...TINY_TRAINING, backbone: { preset, family, lora: { enabled: false } } };
}
