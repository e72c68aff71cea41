import { ConfigError } from '../errors.js';
import type { ResolvedConfig } from '../assembly/load-config.js';
import type { KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import { backboneFamilies, resolveBackboneShape } from '../model/build.js';
import { readHFConfig } from '../model/hf-model.js';
import type { RunData } from './data.js';

/**
 * Checks made before a run starts (and by `kava train --dry-run`), each a clear error naming the
 * preset, file or field, for settings that would otherwise train something other than what was
 * asked for without a word.
 */
export function checkRunPlan(resolved: ResolvedConfig): void {
  checkCheckpointFamily(resolved.config, resolved.plugins.registry);
  checkRealSizeData(resolved);
}

/** Run presets whose architecture is of `family` (for the hint). */
function familyPresets(registry: Registry, family: string): string[] {
  return registry
    .list('backbone')
    .filter((b) => b.family.name === family)
    .flatMap((b) => Object.keys(b.shapes ?? {}))
    .filter((name) => registry.names('preset').includes(name));
}

/**
 * The backbone preset's family against the model directory's config.json `model_type`: a
 * `--preset llama-1b` with a Qwen2 directory would load Qwen with Llama's Table 6 row.
 */
export function checkCheckpointFamily(config: KavaConfig, registry: Registry): void {
  const dir = config.backbone.modelDir;
  if (dir === null) return;
  const { family: checkpoint, json } = readHFConfig(dir, backboneFamilies(registry));
  const presetFamily = config.backbone.family ?? resolveBackboneShape(registry, config.backbone.preset).family.name;
  if (presetFamily === checkpoint.name) return;
  const fits = familyPresets(registry, checkpoint.name);
  throw new ConfigError(
    `backbone preset "${config.backbone.preset}" is a ${presetFamily} model, but backbone.modelDir ${dir} holds a ${checkpoint.name} checkpoint ` +
      `(config.json model_type ${JSON.stringify(json.model_type)}). ` +
      (fits.length
        ? `Name a ${checkpoint.name} preset instead: --preset ${fits.join(' or --preset ')}.`
        : `No loaded preset is a ${checkpoint.name} model; set backbone.family to "${checkpoint.name}".`),
  );
}

/**
 * A real-size preset (one with a released checkpoint) carries the paper's GSM8k settings; with no
 * data file it would quietly train on the built-in synthetic task. That must be asked for by name
 * (the `synthetic` data preset) or a file given.
 */
export function checkRealSizeData(resolved: ResolvedConfig): void {
  const { config, presets, plugins } = resolved;
  if (config.data.train !== null || config.data.format === 'synthetic' || presets.includes('synthetic')) return;
  const { shape } = resolveBackboneShape(plugins.registry, config.backbone.preset);
  if (!shape.checkpoint) return;
  const others = presets.filter((p) => p !== 'synthetic');
  throw new ConfigError(
    `preset "${config.backbone.preset}": its settings (the paper's Table 6) are for GSM8k-AUG, but no training data is given, so it would train on the ` +
      `built-in synthetic task. Pass --data FILE (GSM8k-AUG, GSM8k or iCoT; data.train in a config file), or add the synthetic data preset ` +
      `(--preset ${[...others, 'synthetic'].join(',')}) to train on the synthetic task on purpose.`,
  );
}

/** Methods whose teacher reads a written reasoning trace (all but no-cot). */
export const methodNeedsTraces = (method: KavaConfig['method']): boolean => method !== 'no-cot';

/** Methods that train a latent student (all but the written-CoT and direct-answer baselines). */
export const methodTrainsLatents = (method: KavaConfig['method']): boolean =>
  method === 'kava' || method === 'codi' || method === 'pccot';

/**
 * A method that learns from traces, given records without any: KaVa would train with a KV loss of
 * 0 at every step and nothing to distil. Throws when no training record has a trace; returns a
 * warning line when only some lack one (they train the answer only), else null.
 */
export function checkTraces(config: KavaConfig, data: RunData): string | null {
  if (!methodNeedsTraces(config.method)) return null;
  const without = data.train.filter((e) => e.steps.length === 0).length;
  if (without === 0) return null;
  const file = config.data.train ?? 'the training data';
  if (without === data.train.length) {
    throw new ConfigError(
      `data.train ${file}: none of its ${data.train.length} records has a reasoning trace, which method "${config.method}" learns from ` +
        `(the teacher reads the trace; the student distils it). Train direct answers with --preset no-cot, or use a file with traces: ` +
        'GSM8k ("answer" with <<a*b=c>> annotations and "#### n"), GSM8k-AUG ("steps" list or "cot" text), or iCoT ("question||steps #### answer").',
    );
  }
  return `warning: ${without} of ${data.train.length} training records in ${file} have no reasoning trace; for them method "${config.method}" learns only the answer`;
}

/** The most examples one step may take: 512 × the paper's batch of 128, far past any real recipe. */
export const MAX_BATCH_SIZE = 65536;

/**
 * An absurd batch (1e9) would run one step for days without a word, so it is refused before
 * training; a batch larger than the training set is allowed (a small file with the default
 * batch) but said, since each step then sees an example several times. Returns that note.
 */
export function checkBatchSize(config: KavaConfig, trainExamples: number): string | null {
  const { batchSize } = config.train;
  if (batchSize > MAX_BATCH_SIZE)
    throw new ConfigError(
      `train.batchSize ${batchSize}: one step would take ${batchSize} examples; at most ${MAX_BATCH_SIZE} are allowed (the paper's batch is 128; memory is set by train.microBatchSize)`,
    );
  if (trainExamples > 0 && batchSize > trainExamples)
    return `note: train.batchSize ${batchSize} is larger than the ${trainExamples} training examples: each step sees an example about ${(batchSize / trainExamples).toFixed(1)} times`;
  return null;
}

/** A sequence a run builds, as the settings that bound its parts. */
type SequenceTerms = readonly (readonly [setting: string, tokens: number])[];

/**
 * Refuses a sequence whose parts, at their limits, are more tokens than the model has positions:
 * `latent.count` 1e5 would otherwise surface as a memory estimate of millions of GiB, or as a wasm
 * fault mid-step. Names the largest part, the one to lower.
 */
function checkFits(sequence: string, terms: SequenceTerms, maxPositions: number): void {
  const total = terms.reduce((sum, [, tokens]) => sum + tokens, 0);
  if (total <= maxPositions) return;
  const [largest, value] = [...terms].sort((a, b) => b[1] - a[1])[0]!;
  const parts = terms.map(([setting, tokens]) => `${tokens} (${setting})`).join(' + ');
  throw new ConfigError(
    `${largest} ${value}: the ${sequence} would be up to ${parts} = ${total} tokens plus a few delimiters, ` +
      `more than the model's ${maxPositions} positions (maxPositionEmbeddings); lower ${largest}`,
  );
}

/**
 * The written-CoT sequence (question, CoT, answer) of methods that read traces and the latent
 * student's (question, latents, answer) of the latent methods, at the lengths the config allows,
 * against the model's positions; checked before a run starts.
 */
export function checkSequenceLengths(config: KavaConfig, maxPositions: number): void {
  const { method, latent } = config;
  const { maxQuestionTokens, maxCotTokens, maxAnswerTokens } = config.train;
  const question = ['train.maxQuestionTokens', maxQuestionTokens] as const;
  const answer = ['train.maxAnswerTokens', maxAnswerTokens] as const;
  if (methodNeedsTraces(method))
    checkFits('sequence with the written CoT', [question, ['train.maxCotTokens', maxCotTokens], answer], maxPositions);
  if (methodTrainsLatents(method))
    checkFits("latent student's sequence", [question, ['latent.count', latent.count], answer], maxPositions);
}
