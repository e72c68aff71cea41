import { z } from 'zod';

/**
 * The one configuration schema. Every section has defaults, so an empty config is valid and
 * trains the default tiny preset on the synthetic task. Parts owned by plugins (scorer options,
 * loss options) are validated again after plugins load, by the schema the plugin registered.
 */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const METHODS = ['kava', 'codi', 'pccot', 'full-cot', 'no-cot'] as const;
export type Method = (typeof METHODS)[number];

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

export const loraSchema = z.strictObject({
  /** Train LoRA adapters (real checkpoints) instead of every weight (tiny presets). */
  enabled: z.boolean().default(false),
  rank: positiveInt.default(128),
  alpha: z.number().positive().default(32),
  dropout: z.number().min(0).max(1).default(0.1),
  targets: z.array(z.enum(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']))
    .min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
});

export const backboneSchema = z.strictObject({
  /** A backbone preset registered by a family plugin (tiny-llama, llama-1b, qwen-0.5b, ...). */
  preset: z.string().default('tiny-llama'),
  /** Family plugin name; picked from the preset or config.json `model_type` when omitted. */
  family: z.string().nullable().default(null),
  /** A local Hugging Face model directory (config.json, *.safetensors, tokenizer.json). */
  modelDir: z.string().nullable().default(null),
  /** Overrides of the preset's architecture for randomly initialised models. */
  overrides: z.record(z.string(), z.union([z.number(), z.boolean()])).default({}),
  lora: loraSchema.default(loraSchema.parse({})),
});

export const dataSchema = z.strictObject({
  /** Dataset format plugin name, or "auto" to sniff from the file. "synthetic" needs no file. */
  format: z.string().default('auto'),
  /** Training file; null uses the built-in synthetic task. */
  train: z.string().nullable().default(null),
  /** Held-out file for periodic and final evaluation; null uses the synthetic test split. */
  test: z.string().nullable().default(null),
  /** Trace style where the format has both. */
  trace: z.enum(['equation', 'nl']).default('equation'),
  /** Drop the last CoT step from the teacher trace (CODI/PCCoT default). */
  dropLastStep: z.boolean().default(true),
  /** Read at most this many training records. */
  limit: positiveInt.nullable().default(null),
  /** Skip (and count) malformed records instead of failing. */
  skipInvalid: z.boolean().default(false),
  /** Seed for shuffling the training records each epoch. */
  shuffleSeed: z.number().int().default(0),
  synthetic: z.strictObject({
    trainSize: positiveInt.default(20000),
    testSize: positiveInt.default(500),
    minSteps: positiveInt.default(2),
    maxSteps: positiveInt.default(4),
    seed: z.number().int().default(1234),
  }).default({ trainSize: 20000, testSize: 500, minSteps: 2, maxSteps: 4, seed: 1234 }),
});

export const latentSchema = z.strictObject({
  /** Latent tokens M (also the compression budget). */
  count: positiveInt.default(24),
  mode: z.enum(['jacobi', 'autoregressive']).default('jacobi'),
  /** Jacobi iterations T (0 = pause tokens). */
  iterations: z.number().int().nonnegative().default(3),
  /** Project hidden states to the next latent's input (Linear-GELU-Linear-LayerNorm). */
  projection: z.boolean().default(true),
});

export const compressionSchema = z.strictObject({
  /** Scorer name from any loaded plugin (rkv, keydiff, random, ...). */
  scorer: z.string().default('rkv'),
  /** Options of the selected scorer (validated by the scorer's own schema). */
  options: z.record(z.string(), z.unknown()).default({}),
  evictor: z.string().default('topk'),
  /** Score keys after ("post") or before ("pre") RoPE. */
  rope: z.enum(['post', 'pre']).default('post'),
  /** How attention-based scorers reduce a GQA group of query heads. */
  groupReduce: z.enum(['max', 'mean']).default('max'),
});

/** One loss term: its weight (0 disables it) and the term's own options. */
export const lossEntrySchema = z.looseObject({ weight: nonNegative });

export const trainSchema = z.strictObject({
  /** Optimiser steps; null derives them from `epochs`. */
  steps: positiveInt.nullable().default(null),
  epochs: z.number().positive().default(10),
  /** Effective batch (examples per optimiser step). */
  batchSize: positiveInt.default(128),
  /** Examples per forward pass; gradients accumulate to `batchSize`. */
  microBatchSize: positiveInt.default(8),
  lr: z.number().positive().default(8e-4),
  weightDecay: nonNegative.default(0.1),
  /** Warm-up as a fraction of total steps. */
  warmup: z.number().min(0).max(1).default(0.03),
  /** Global gradient-norm clip (0 = off). */
  clip: nonNegative.default(2.0),
  seed: z.number().int().default(0),
  /** Parent folder of run directories. */
  out: z.string().default('runs'),
  checkpointEvery: z.number().int().nonnegative().default(500),
  evalEvery: z.number().int().nonnegative().default(0),
  /** Maximum tokens of question / CoT / answer kept per example (longer ones are truncated). */
  maxQuestionTokens: positiveInt.default(128),
  maxCotTokens: positiveInt.default(128),
  maxAnswerTokens: positiveInt.default(16),
});

export const evalSchema = z.strictObject({
  mode: z.enum(['latent', 'cot', 'direct']).default('latent'),
  /** Evaluation file; null uses `data.test`. */
  data: z.string().nullable().default(null),
  format: z.string().default('auto'),
  limit: positiveInt.nullable().default(null),
  batchSize: positiveInt.default(32),
  maxNewTokens: positiveInt.default(16),
  /** Max CoT tokens the teacher may write in "cot" mode. */
  maxCotTokens: positiveInt.default(128),
});

export const configSchema = z.strictObject({
  /** Presets applied (in order) over the built-in defaults, below the config file. */
  preset: z.union([z.string(), z.array(z.string())]).nullable().default(null),
  /**
   * What is trained (KAVA-METHOD.md §5): "kava", "codi" and "pccot" train latent students;
   * "full-cot" trains the teacher to write its CoT; "no-cot" trains direct answers.
   */
  method: z.enum(METHODS).default('kava'),
  backend: z.enum(BACKENDS).default('auto'),
  /** Extra plugins: npm package names or paths relative to the config file. */
  plugins: z.array(z.string()).default([]),
  /** Load the four built-in plugin packages. */
  builtinPlugins: z.boolean().default(true),
  backbone: backboneSchema.default(backboneSchema.parse({})),
  data: dataSchema.default(dataSchema.parse({})),
  latent: latentSchema.default(latentSchema.parse({})),
  compression: compressionSchema.default(compressionSchema.parse({})),
  losses: z.record(z.string(), lossEntrySchema).default({
    'student-ce': { weight: 1 },
    'teacher-ce': { weight: 1 },
    codi: { weight: 10 },
    kv: { weight: 1, type: 'smooth-l1', layerwiseStd: true },
  }),
  train: trainSchema.default(trainSchema.parse({})),
  eval: evalSchema.default(evalSchema.parse({})),
});

/** The resolved configuration: every key present. */
export type KavaConfig = z.output<typeof configSchema>;
/** What a user writes: any subset. */
export type KavaConfigInput = DeepPartial<z.input<typeof configSchema>>;
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
