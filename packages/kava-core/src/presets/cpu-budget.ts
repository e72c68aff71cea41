import type { KavaConfigInput } from '../config/schema.js';

/**
 * Training settings of the tiny presets: a from-scratch model on the synthetic task that trains
 * and evaluates in minutes on a 2-core CPU. The paper's settings (batch 128, 10 epochs, M = 24)
 * are for 1B-parameter models on GSM8k; the synthetic task's traces are short (2–4 steps of
 * `<<a*b=c>>`, the last dropped), so 8 latents cover them. About 5 minutes on 2 cores.
 */
export const TINY_TRAINING: KavaConfigInput = {
  latent: { count: 8, iterations: 3 },
  // A from-scratch model has no teacher to distil until it can write traces, so the first half of
  // the steps trains the teacher alone (CODI and PCCoT start from models that already can), and
  // α1 = 1 instead of Table 6's 10 (the paper's value is for LoRA on pretrained 1B+ models). Measured
  // on the default run (300 steps, seed 0): α1 = 10, no warm-up: 9.0% held-out latent accuracy
  // (the student answered "1" to 198/200 questions, the majority answer being 9.5%); α1 = 1: 18.5%;
  // α1 = 1 with warm-up 0.3: 17.0%; with warm-up 0.5: 22.0%, and every loss term falls.
  losses: { codi: { weight: 1 } },
  // Numbers up to 20 and 2–3 steps: a task a from-scratch model starts to learn in minutes.
  data: { synthetic: { maxValue: 20, minSteps: 2, maxSteps: 3 } },
  train: {
    steps: 300,
    batchSize: 16,
    microBatchSize: 16,
    lr: 3e-3,
    weightDecay: 0.01,
    warmup: 0.05,
    teacherWarmup: 0.5,
    checkpointEvery: 100,
    maxQuestionTokens: 96,
    maxCotTokens: 64,
    maxAnswerTokens: 8,
  },
  eval: { limit: 200, batchSize: 64, maxNewTokens: 8, maxCotTokens: 64 },
};

/**
 * RoPE of the tiny presets. Llama-3.2's theta 500000 with llama3 scaling (and Qwen2.5's 1e6) are
 * made for 128k-token contexts; on ~100-token sequences most frequencies barely turn. Measured on
 * the synthetic task (full-cot, 300 steps, maxValue 20): held-out CoT accuracy 26.0% with theta
 * 10000 and no scaling, 13.0% with Llama-3.2's RoPE.
 */
export const TINY_ROPE = { ropeTheta: 10000, ropeScaling: null };

/** A tiny backbone preset's config: the architecture's name and family, all weights trained, the CPU budget. */
export function tinyPresetConfig(preset: string, family: string): KavaConfigInput {
  return { ...TINY_TRAINING, backbone: { preset, family, lora: { enabled: false } } };
}
