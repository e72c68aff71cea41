import { KavaError } from '../errors.js';
import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import type { Registry } from '../plugin/registry.js';
import { openDataset } from '../data/open.js';
import { collect } from '../data/select.js';
import { syntheticDataset } from '../data/synthetic/format.js';
import type { EncodeOptions } from '../data/sequences.js';

/** The training and held-out examples of a run (held in memory: the trainer shuffles per epoch). */
/** How the trainer encodes an example under this config: the token limits and whether the last CoT step is dropped. */
export function encodeOptions(config: KavaConfig): EncodeOptions {
  const { maxQuestionTokens, maxCotTokens, maxAnswerTokens } = config.train;
  return { maxQuestionTokens, maxCotTokens, maxAnswerTokens, dropLastStep: config.data.dropLastStep };
}

/** A run's examples: training, test and validation splits, and where they came from. */
export interface RunData {
  train: Example[];
  test: Example[];
  /** The validation split (data.validation, or the synthetic task's); empty when there is none. */
  validation: Example[];
  /** Where the examples came from, for logs. */
  source: string;
  /** Records skipped as malformed (data.skipInvalid). */
  skipped: number;
}

/**
 * Reads `data` from the config: the built-in synthetic task when no training file is named,
 * else the files through their format plugins (streamed; `data.limit` caps the training records).
 * Relative paths are resolved from `baseDir` (the config file's folder).
 */
export async function loadRunData(
  config: KavaConfig,
  registry: Registry,
  resolvePath: (p: string) => string,
): Promise<RunData> {
  const { data } = config;
  const read = { trace: data.trace, skipInvalid: data.skipInvalid };
  // Held-out questions are read without a trace style: evaluation needs only the question and
  // the answer, and a record without (say) equation annotations is still a fair question.
  const heldOut = { skipInvalid: data.skipInvalid };
  if (data.train === null || data.format === 'synthetic') {
    const splits = syntheticDataset(data.synthetic);
    const train = await collect(splits.train.examples(read), data.limit);
    const test =
      data.test === null
        ? await collect(splits.test.examples(read))
        : await readExamples(registry, resolvePath(data.test), 'auto', heldOut, 'data.test');
    const validation =
      data.validation === null
        ? await collect(splits.validation.examples(read))
        : await readExamples(registry, resolvePath(data.validation), 'auto', heldOut, 'data.validation');
    return {
      train,
      test,
      validation,
      source: `synthetic (${data.trace} traces, seed ${data.synthetic.seed})`,
      skipped: 0,
    };
  }
  const trainSource = await openDataset(registry, resolvePath(data.train), data.format, 'data.format', 'data.train');
  const train = await collect(trainSource.examples(read), data.limit);
  if (train.length === 0) throw new KavaError(`data.train: ${data.train} holds no usable records`, { exitCode: 2 });
  const test =
    data.test === null ? [] : await readExamples(registry, resolvePath(data.test), 'auto', heldOut, 'data.test');
  const validation =
    data.validation === null
      ? []
      : await readExamples(registry, resolvePath(data.validation), 'auto', heldOut, 'data.validation');
  return {
    train,
    test,
    validation,
    source: `${data.train} (${data.trace} traces)`,
    skipped: trainSource.skipped ?? 0,
  };
}

/**
 * The held-out examples that evaluation reads: data.test, or the validation split when
 * eval.split is "validation" (refused when there is none, naming both settings).
 */
export function heldOutExamples(config: KavaConfig, data: RunData): Example[] {
  if (config.eval.split === 'test') return data.test;
  if (data.validation.length === 0)
    throw new KavaError(
      'eval.split is "validation" but there is no validation data: set data.validation to a file (or use the synthetic task, whose data.synthetic.validSize questions form one)',
      { exitCode: 2 },
    );
  return data.validation;
}

/** How many of `available` held-out questions an evaluation answers (eval.limit caps it). */
export const evaluatedCount = (config: KavaConfig, available: number): number =>
  Math.min(available, config.eval.limit ?? Infinity);

/** Every example of a dataset file, read through its format plugin (`format` "auto" sniffs it). */
export async function readExamples(
  registry: Registry,
  file: string,
  format: string,
  read: { trace?: 'equation' | 'nl'; skipInvalid: boolean },
  field: string,
  fileField = field,
): Promise<Example[]> {
  const source = await openDataset(registry, file, format, field, fileField);
  return collect(source.examples(read));
}
