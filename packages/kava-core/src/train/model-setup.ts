import { tf } from '../tf.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import type { BackboneFamily } from '../contracts/backbone.js';
import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import type { Decoder } from '../model/decoder.js';
import { createBackbone } from '../model/build.js';
import { ConfigError } from '../errors.js';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { createWordLevelTokenizer, wordPieces } from '../tokenizer/word-level.js';
import { createSyntheticTokenizer } from '../data/synthetic/vocabulary.js';
import { addReasoningTokens, ANSWER_PREFIX, BOT_TOKEN, EOT_TOKEN, type ReasoningTokens } from '../data/sequences.js';
import { Projection } from '../latent/projection.js';
import type { LatentSettings } from '../latent/rollout.js';
import { deriveSeed } from '../util/rng.js';

/** Site index of the added token rows' initial noise, derived from train.seed. */
const ADDED_ROWS_SITE = 1;

/** The placeholder token whose embedding fills Jacobi latent slots before their first update. */
export const LATENT_TOKEN = '<latent>';

/** A backbone ready for KaVa: tokenizer with the reasoning tokens, projection, named trainables. */
export interface KavaModel {
  backbone: Decoder;
  family: BackboneFamily;
  tokenizer: Tokenizer;
  tokens: ReasoningTokens & { latentId: number };
  projection: Projection | null;
  latent: LatentSettings;
  /** Every trainable variable under a stable name (checkpoints and the optimiser use these). */
  params: Map<string, tf.Variable>;
  /** Releases every tensor and native buffer the model holds. */
  dispose(): void;
}

/**
 * A word-level vocabulary for a tiny model on a file dataset: every word piece of the training
 * records seen at least twice (rarer ones map to <unk>), plus the answer prefix and digits.
 */
export function vocabularyFromExamples(examples: readonly Example[], minCount = 2): string[] {
  const counts = new Map<string, number>();
  const add = (text: string) => {
    for (const w of wordPieces(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  };
  for (const e of examples) {
    add(e.question);
    e.steps.forEach(add);
    add(e.answer);
  }
  const always = [...wordPieces(ANSWER_PREFIX), ...'0123456789'.split('')];
  const words = [...counts]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1])
    .map(([w]) => w);
  return [...new Set([...always, ...words])];
}

/** The tokenizer a run uses: a saved one (a checkpoint's), the model directory's, the synthetic one, or one built from the data. */
export async function runTokenizer(
  config: KavaConfig,
  options: { savedDir?: string; trainExamples?: readonly Example[] } = {},
): Promise<Tokenizer> {
  if (options.savedDir) return loadTokenizer(options.savedDir);
  if (config.backbone.modelDir !== null) return loadTokenizer(config.backbone.modelDir);
  if (config.data.train === null || config.data.format === 'synthetic')
    return createSyntheticTokenizer(config.data.synthetic.maxValue, config.data.synthetic.nlStyle);
  return createWordLevelTokenizer(vocabularyFromExamples(options.trainExamples ?? []), {
    specialTokens: [BOT_TOKEN, EOT_TOKEN],
  });
}

/**
 * Adds the tokens every KaVa model has (`<bot>`, `<eot>`, `<latent>`; those already present are
 * kept): after it, `tokenizer.vocabSize` is the model's vocabulary (what --dry-run reports).
 */
export function addModelTokens(tokenizer: Tokenizer): { reasoning: ReasoningTokens; latentId: number } {
  const reasoning = addReasoningTokens(tokenizer);
  const [latentId] = tokenizer.addSpecialTokens([LATENT_TOKEN]) as [number];
  return { reasoning, latentId };
}

/**
 * Builds the model of a run: the backbone (random preset or Hugging Face directory, LoRA when
 * configured), the tokenizer with `<bot>`, `<eot>` and `<latent>` added (the embedding table
 * grows with new trainable rows), and the latent projection. `inference`: nothing will train, so a
 * large checkpoint's base may stay frozen in native memory (see holdsBaseNatively).
 */
export function setupModel(
  config: KavaConfig,
  registry: Registry,
  tokenizer: Tokenizer,
  options: { inference?: boolean } = {},
): KavaModel {
  const { reasoning, latentId } = addModelTokens(tokenizer);
  const seed = config.train.seed;
  const { backbone, family } = createBackbone(registry, config.backbone, {
    vocabSize: tokenizer.vocabSize,
    seed,
    inference: options.inference === true,
  });
  // The added tokens need trainable rows, also when their ids fall inside a checkpoint's padded
  // table (Qwen2.5: 151,936 rows for 151,665 tokens), where LoRA would otherwise freeze them
  // (without LoRA every row trains anyway).
  const addedIds = [reasoning.botId, reasoning.eotId, latentId];
  const firstNew = Math.min(...addedIds);
  if (backbone.vocabSize < tokenizer.vocabSize || (config.backbone.lora.enabled && firstNew < backbone.baseVocabSize)) {
    backbone.resizeVocab(
      Math.max(backbone.vocabSize, tokenizer.vocabSize),
      Math.min(firstNew, backbone.vocabSize),
      deriveSeed(seed, ADDED_ROWS_SITE),
    );
  }
  const latentBased = config.method === 'kava' || config.method === 'codi' || config.method === 'pccot';
  const projection =
    latentBased && config.latent.projection ? new Projection(backbone.config.hiddenSize, seed + 7919) : null;
  const params = new Map<string, tf.Variable>();
  backbone.trainableVariables().forEach((v, i) => params.set(`backbone.${i}`, v));
  for (const [name, v] of projection?.variables ?? []) params.set(name, v);
  return {
    backbone,
    family,
    tokenizer,
    tokens: { ...reasoning, latentId },
    projection,
    latent: {
      count: config.latent.count,
      mode: config.latent.mode,
      iterations: config.latent.iterations,
      projection,
      placeholderId: latentId,
    },
    params,
    dispose() {
      backbone.dispose();
      projection?.dispose();
    },
  };
}

/**
 * The frozen teacher of `train.teacher: "frozen"`: a second copy of the model directory, as
 * loaded and without LoRA, whose weights are never trained (they are not in the run's params, so
 * no gradient or optimiser step reaches them). Its table grows like the student's for added tokens.
 */
export function setupFrozenTeacher(config: KavaConfig, registry: Registry, model: KavaModel): Decoder {
  checkFrozenTeacher(config);
  const { backbone } = createBackbone(
    registry,
    { ...config.backbone, baseWeights: 'backend', lora: { ...config.backbone.lora, enabled: false } },
    { vocabSize: model.tokenizer.vocabSize, seed: config.train.seed },
  );
  // The same rows the student's added tokens started from (same seed and site).
  if (backbone.vocabSize < model.backbone.vocabSize)
    backbone.resizeVocab(model.backbone.vocabSize, backbone.vocabSize, deriveSeed(config.train.seed, ADDED_ROWS_SITE));
  return backbone;
}

/** The settings a frozen teacher needs (checked before anything is loaded). */
export function checkFrozenTeacher(config: KavaConfig): void {
  if (config.train.teacher !== 'frozen') return;
  if (config.backbone.modelDir === null) {
    throw new ConfigError(
      'train.teacher: "frozen" needs backbone.modelDir (a model that has learned to write traces); a frozen copy of a random preset teaches nothing',
    );
  }
  if (!(config.method === 'kava' || config.method === 'codi' || config.method === 'pccot')) {
    throw new ConfigError(
      `train.teacher: "frozen" applies to the latent methods (kava, codi, pccot); method "${config.method}" trains the teacher itself`,
    );
  }
  if (config.train.teacherWarmup > 0)
    throw new ConfigError(
      'train.teacher: "frozen" cannot be combined with train.teacherWarmup (a frozen teacher is not trained)',
    );
}
