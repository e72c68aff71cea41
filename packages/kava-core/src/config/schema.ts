import { z } from 'zod';

/**
 * The one configuration schema. Every section has defaults, so an empty config is valid and
 * trains the default tiny preset on the synthetic task. Parts owned by plugins (scorer options,
 * loss options) are validated again after plugins load, by the schema the plugin registered.
 * Descriptions (`.describe`) are the configuration reference: docs/configuration.md is
 * generated from them (`npm run docs:config`).
 */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const METHODS = ['kava', 'codi', 'pccot', 'full-cot', 'no-cot'] as const;
export type Method = (typeof METHODS)[number];
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

/** A strict object whose defaults are the parse of `{}`. */
function section<T extends z.ZodRawShape>(shape: T, description: string) {
  const schema = z.strictObject(shape);
  // The generic shape hides that every field has a default; parse({}) is complete at run time.
  return schema.default(schema.parse({}) as never).describe(description);
}

export const loraSchema = section(
  {
    enabled: z
      .boolean()
      .default(false)
      .describe('train LoRA adapters (real checkpoints) instead of every weight (tiny presets)'),
    rank: positiveInt.default(128).describe('adapter rank r'),
    alpha: z.number().positive().default(32).describe('adapter scale alpha (update scaled by alpha / r)'),
    dropout: z.number().min(0).max(1).default(0.1).describe('dropout on the adapter input'),
    targets: z
      .array(z.enum(LORA_TARGETS))
      .min(1)
      .default([...LORA_TARGETS])
      .describe('projections that get adapters'),
  },
  'LoRA adapters',
);

/**
 * The architecture fields `backbone.overrides` may change; a misspelt one (numLayer) is refused
 * where the configuration is read, so `kava config --print` and `kava train` agree.
 */
export const architectureOverridesSchema = z.strictObject({
  vocabSize: positiveInt.optional().describe('rows of the embedding table (default: the tokenizer vocabulary)'),
  hiddenSize: positiveInt.optional().describe('width of the residual stream'),
  intermediateSize: positiveInt.optional().describe('width of the MLP'),
  numLayers: positiveInt.optional().describe('decoder layers'),
  numHeads: positiveInt.optional().describe('query heads'),
  numKvHeads: positiveInt.optional().describe('key/value heads (grouped-query attention)'),
  headDim: positiveInt.optional().describe('width of one head'),
  rmsNormEps: z.number().positive().optional().describe('RMSNorm epsilon'),
  ropeTheta: z.number().positive().optional().describe('RoPE base'),
  maxPositionEmbeddings: positiveInt.optional().describe('longest sequence the model takes'),
  tieWordEmbeddings: z.boolean().optional().describe('the LM head reuses the embedding table'),
  attentionBias: z.boolean().optional().describe('biases on the q/k/v projections (Qwen)'),
});

export const backboneSchema = section(
  {
    preset: z
      .string()
      .default('tiny-llama')
      .describe(
        'the architecture, as set by the backbone preset named in the top-level `preset`; write `preset: "llama-1b"` there, not here (a different run preset\'s name here is refused)',
      ),
    family: z
      .string()
      .nullable()
      .default(null)
      .describe('backbone family plugin ("llama", "qwen2"); taken from the preset or config.json model_type when null'),
    model: z
      .string()
      .nullable()
      .default(null)
      .describe(
        'a Hugging Face model id, org/name or org/name@revision (a branch, tag or commit; default main), read from the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub) and downloaded into it first when missing (not with HF_HUB_OFFLINE=1): sets backbone.modelDir to the cached snapshot',
      ),
    modelDir: z
      .string()
      .nullable()
      .default(null)
      .describe(
        'local Hugging Face model directory (config.json, *.safetensors, tokenizer.json); the real-size presets need it or backbone.model',
      ),
    overrides: architectureOverridesSchema
      .default({})
      .describe('architecture fields to change on a randomly initialised preset, e.g. { numLayers: 2 }'),
    lora: loraSchema,
    baseWeights: z
      .enum(['auto', 'native', 'backend'])
      .default('auto')
      .describe(
        'where the frozen base weights of a LoRA run on backbone.modelDir live: "native" memory outside the tfjs backend (no 4 GiB wasm heap limit; needs the native kernels and the wasm or cpu backend), "backend" tensors, or "auto": native when LoRA is on, the native kernels are built and the float32 base is over 1 GiB',
      ),
  },
  'the model',
);

export const syntheticSchema = section(
  {
    trainSize: positiveInt.default(20000).describe('training problems generated'),
    testSize: positiveInt.default(500).describe('held-out problems generated (never overlapping the training ones)'),
    validSize: z
      .number()
      .int()
      .nonnegative()
      .default(500)
      .describe(
        'validation problems generated after the test split, from their own stream (never overlapping train or test; the train and test splits do not depend on it)',
      ),
    minSteps: positiveInt.default(2).describe('fewest reasoning steps per problem'),
    maxSteps: positiveInt.default(4).describe('most reasoning steps per problem'),
    maxValue: z
      .number()
      .int()
      .min(20)
      .default(100)
      .describe('every number in a problem (operands, intermediate results, answer) lies in [0, maxValue]'),
    seed: z.number().int().default(1234).describe('generator seed'),
    nlStyle: z
      .enum(['short', 'verbose'])
      .default('short')
      .describe(
        "words of the nl trace: one short template sentence per step, or verbose (paraphrases, a restatement of the question, filler; 3-5x the equation trace's tokens)",
      ),
  },
  'the built-in synthetic arithmetic task',
);

export const dataSchema = section(
  {
    format: z
      .string()
      .default('auto')
      .describe('dataset format plugin name, or "auto" to sniff it from the file; "synthetic" needs no file'),
    train: z
      .string()
      .nullable()
      .default(null)
      .describe(
        'training file, or a Hugging Face dataset hf:org/name[@revision][:split] (split default: train); null uses the built-in synthetic task',
      ),
    test: z
      .string()
      .nullable()
      .default(null)
      .describe(
        'held-out file for evaluation during and after training, or hf:org/name[:split] (split default: test); null uses the synthetic test split',
      ),
    validation: z
      .string()
      .nullable()
      .default(null)
      .describe(
        'validation file (or hf:org/name[:split], split default: validation), evaluated instead of data.test when eval.split is "validation"; null uses the synthetic validation split',
      ),
    trace: z
      .enum(['equation', 'nl'])
      .default('equation')
      .describe('chain-of-thought style where the format has both: equations or natural language'),
    dropLastStep: z
      .boolean()
      .default(true)
      .describe('drop the last CoT step from the teacher trace (CODI/PCCoT default)'),
    limit: positiveInt.nullable().default(null).describe('read at most this many training records'),
    skipInvalid: z
      .boolean()
      .default(false)
      .describe('skip (and count) malformed records instead of stopping at the first'),
    shuffleSeed: z
      .number()
      .int()
      .default(0)
      .describe(
        'seed for shuffling training records each epoch (epoch e uses shuffleSeed + e; independent of train.seed)',
      ),
    synthetic: syntheticSchema,
  },
  'training and evaluation data',
);

export const latentSchema = section(
  {
    count: positiveInt.default(24).describe('latent tokens M (also the compression budget per layer and head)'),
    mode: z
      .enum(['jacobi', 'autoregressive'])
      .default('jacobi')
      .describe('all latents refined in parallel (PCCoT) or one per forward pass (CODI)'),
    iterations: z.number().int().nonnegative().default(3).describe('Jacobi iterations T (0 = pause tokens)'),
    projection: z
      .boolean()
      .default(true)
      .describe(
        'map hidden states to the next latent input with Linear-GELU-Linear-LayerNorm (false: feed hidden states directly)',
      ),
  },
  "the student's latent thoughts",
);

export const compressionSchema = section(
  {
    scorer: z.string().default('rkv').describe('KV scorer from any loaded plugin (see `kava plugins`)'),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("options of the selected scorer, validated by the scorer's own schema"),
    evictor: z
      .string()
      .default('topk')
      .describe(
        'evictor that keeps the scored tokens: topk (M per layer and KV head), or one that gives layers or heads their own budgets (pyramid, adakv)',
      ),
    evictorOptions: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("options of the selected evictor, validated by the evictor's own schema"),
    rope: z.enum(['post', 'pre']).default('post').describe('score keys after (as cached) or before RoPE'),
    groupReduce: z
      .enum(['max', 'mean'])
      .default('max')
      .describe('how attention-based scorers reduce a GQA group of query heads'),
  },
  'compressing the teacher cache to M entries per layer and head',
);

export const trainSchema = section(
  {
    steps: positiveInt.nullable().default(null).describe('optimiser steps; null derives them from epochs'),
    epochs: z.number().positive().default(10).describe('passes over the training data when steps is null'),
    batchSize: positiveInt.default(128).describe('examples per optimiser step (effective batch)'),
    microBatchSize: positiveInt.default(8).describe('examples per forward pass; gradients accumulate to batchSize'),
    lr: z.number().positive().default(8e-4).describe('peak learning rate'),
    weightDecay: nonNegative.default(0.1).describe('AdamW decoupled weight decay'),
    warmup: z
      .number()
      .min(0)
      .max(1)
      .default(0.03)
      .describe('linear warm-up as a fraction of the steps, then cosine decay'),
    teacher: z
      .enum(['shared', 'frozen'])
      .default('shared')
      .describe(
        "the teacher pass of the latent methods: the weights being trained (shared with the student, the paper's setup; teacher-ce keeps them writing traces), or a frozen copy of backbone.modelDir as loaded (an ablation; teacher-ce is then off)",
      ),
    teacherWarmup: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        "fraction of the steps that train only the teacher (teacher-ce) before the latent objective starts; stands in for the pretraining the paper's models have when training from scratch",
      ),
    clip: nonNegative.default(2.0).describe('global gradient-norm clip (0 = off)'),
    gradNormEvery: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(
        "steps between measurements of the gradient norm each weighted loss term alone contributes (metrics.jsonl `termGradNorms`, the report's gradient panel); each costs one more forward and backward per term (0 = never). Whether clipping fired is recorded every step",
      ),
    maxNonFiniteSkips: z
      .number()
      .int()
      .nonnegative()
      .default(3)
      .describe(
        'steps in a row whose loss or gradient is not finite (NaN, Infinity) that are skipped, weights unchanged, before training stops (0 = stop at the first)',
      ),
    seed: z
      .number()
      .int()
      .default(0)
      .describe(
        'seed of the random draws of training: the initial weights of a random preset, LoRA A, the added token rows and the latent projection; the LoRA dropout masks and the random scorer (from the seed, the step, the micro-batch and a fixed site). The same config and seed give the same losses and weights bit for bit, also when a run is interrupted and resumed, on the same machine and backend with a fixed BLAS thread count (KAVA_BLAS_THREADS=1: by default a large product on the wasm backend takes a second thread while another core is idle, and the Haswell/Zen kernels of OpenBLAS round differently on two threads; across backends, BLAS kernel sets (OPENBLAS_CORETYPE) or thread counts runs agree only to rounding, and a long training drifts apart). The data order has its own seed, data.shuffleSeed',
      ),
    out: z.string().default('runs').describe('folder that holds run directories'),
    checkpointEvery: z
      .number()
      .int()
      .nonnegative()
      .default(500)
      .describe('steps between checkpoints (0 = only at the end)'),
    evalEvery: z
      .union([z.literal('auto'), z.number().int().nonnegative()])
      .default('auto')
      .describe(
        'steps between held-out evaluations (0 = only at the end). "auto": four evaluations during the run (at 20, 40, 60 and 80 % of its steps) and one at the end, on runs of at least 100 steps whose held-out set is at most 500 questions (eval.limit counts); other runs evaluate only at the end',
      ),
    maxQuestionTokens: positiveInt.default(128).describe('question tokens kept per example'),
    maxCotTokens: positiveInt.default(128).describe('chain-of-thought tokens kept per example'),
    maxAnswerTokens: positiveInt.default(16).describe('answer tokens kept per example'),
  },
  'optimisation, checkpoints and runs',
);

export const evalSchema = section(
  {
    mode: z
      .enum(['latent', 'cot', 'direct'])
      .default('latent')
      .describe('latent thoughts (KaVa/CODI/PCCoT), written CoT, or direct answer'),
    data: z
      .string()
      .nullable()
      .default(null)
      .describe('evaluation file, or hf:org/name[:split] (split default: test); null uses data.test'),
    format: z.string().default('auto').describe('format of the evaluation file, or "auto"'),
    limit: positiveInt.nullable().default(null).describe('evaluate at most this many questions'),
    batchSize: positiveInt.default(32).describe('questions decoded together'),
    maxNewTokens: positiveInt.default(16).describe('answer tokens generated at most'),
    maxCotTokens: positiveInt.default(128).describe('CoT tokens the model may write in "cot" mode'),
    kvBudget: positiveInt
      .nullable()
      .default(null)
      .describe(
        '"cot" mode: compress the cache of the trace being written to this many entries per layer and KV head (R-KV style, with compression.scorer and compression.evictor); null keeps every entry',
      ),
    kvInterval: positiveInt
      .default(16)
      .describe('with kvBudget: trace tokens written between compressions (the cache grows to kvBudget + kvInterval)'),
    kvQueryWindow: positiveInt
      .default(8)
      .describe(
        "with kvBudget and a scorer that reads the answer's queries (rkv, attention): the last trace tokens whose queries stand in for them, as R-KV's observation window does while decoding",
      ),
    split: z
      .enum(['test', 'validation'])
      .default('test')
      .describe(
        'the held-out split evaluated during and after training: test (data.test), or validation (data.validation; the synthetic task generates one disjoint from train and test) for choosing a recipe without looking at the test questions',
      ),
    latentUsage: z
      .boolean()
      .default(true)
      .describe(
        "latent mode: the final evaluation also answers every question with the latents shuffled across the batch (each question gets another's) and with the <latent> placeholder in every latent slot (no rollout), and records both accuracies; near the real accuracy, the answers do not depend on the latents",
      ),
  },
  'evaluation',
);

/** One loss term: its weight (0 switches it off) and the term's own options. */
export const lossEntrySchema = z.looseObject({
  weight: nonNegative.describe('weight of the term in the total loss (0 = off)'),
  warmup: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      'fraction of the steps over which the weight ramps linearly from 0 to `weight`, counted from the end of train.teacherWarmup (0 or absent: the full weight from the start)',
    ),
});

export const configSchema = z.strictObject({
  preset: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .default(null)
    .describe(
      'run presets applied over the defaults and under this file, by kind: backbone (architecture and its training recipe; llama-1b, llama-3b, qwen-0.5b add LoRA and Table 6), data, method; e.g. "llama-1b,codi". `kava` commands fill a kind left out with its default (backbone: tiny-llama); `--preset` replaces this key',
    ),
  method: z
    .enum(METHODS)
    .default('kava')
    .describe(
      'what is trained: latent students (kava, codi, pccot), the written CoT (full-cot) or direct answers (no-cot)',
    ),
  backend: z
    .enum(BACKENDS)
    .default('auto')
    .describe('tensor backend; auto takes tfjs-node-gpu, then tfjs-node when installed, else wasm, else cpu'),
  plugins: z.array(z.string()).default([]).describe('extra plugins: npm package names or paths relative to this file'),
  builtinPlugins: z
    .boolean()
    .default(true)
    .describe('load the four built-in plugin packages (Llama, Qwen, R-KV, KeyDiff)'),
  backbone: backboneSchema,
  data: dataSchema,
  latent: latentSchema,
  compression: compressionSchema,
  losses: z
    .record(z.string(), lossEntrySchema)
    .default({
      'student-ce': { weight: 1 },
      'teacher-ce': { weight: 1 },
      codi: { weight: 10 },
      kv: { weight: 1, type: 'smooth-l1', layerwiseStd: true },
    })
    .describe("loss terms by name, each { weight, ...the term's options }"),
  loggers: z
    .record(z.string(), z.union([z.literal(false), z.record(z.string(), z.unknown())]))
    .default({})
    .describe(
      "where training metrics go besides metrics.jsonl and eval.jsonl: loggers by name, each { ...its options }, or false to turn one off. Loggers on by default (tensorboard, from @kava/plugin-tensorboard, which the kava command loads) run unless set to false; others (a plugin's) run when named here",
    ),
  train: trainSchema,
  eval: evalSchema,
});

/**
 * One layer of a configuration before the layers are merged (a config file, a preset, the
 * command line): a loss entry may leave its weight to a lower layer, so `{ "losses": { "kv":
 * { "type": "mse" } } }` keeps the default KV weight. The merged configuration is parsed with
 * `configSchema`, where every term must have a weight.
 */
export const configLayerSchema = configSchema.extend({
  losses: z.record(z.string(), lossEntrySchema.extend({ weight: nonNegative.optional() })).optional(),
});

/** The resolved configuration: every key present. */
export type KavaConfig = z.output<typeof configSchema>;
/** What a user writes: any subset. */
export type KavaConfigInput = DeepPartial<z.input<typeof configSchema>>;
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
