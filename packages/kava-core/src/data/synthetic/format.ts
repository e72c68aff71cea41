import type { DatasetFormat, DatasetSource, Example, ReadOptions } from '../../contracts/dataset.js';
import { KavaError } from '../../errors.js';
import { generateSynthetic, type SyntheticOptions, type SyntheticProblem } from './generator.js';

/** The defaults of `data.synthetic` in the configuration schema. */
export const DEFAULT_SYNTHETIC: SyntheticOptions = {
  trainSize: 20000,
  testSize: 500,
  minSteps: 2,
  maxSteps: 4,
  seed: 1234,
};

function verboseSteps(p: SyntheticProblem): string[] {
  if (!p.nlVerbose) throw new KavaError('synthetic problems generated without nlStyle "verbose" have no verbose trace');
  return p.nlVerbose;
}

/** A DatasetSource over generated problems, in either trace style (`nl` in the short or the verbose words). */
export function syntheticSource(
  name: string,
  problems: readonly SyntheticProblem[],
  nlStyle: 'short' | 'verbose' = 'short',
): DatasetSource {
  return {
    name,
    skipped: 0,
    async *examples(options: ReadOptions = {}): AsyncGenerator<Example> {
      const style = options.trace ?? 'equation';
      for (const [i, p] of problems.entries()) {
        const steps = style === 'nl' && nlStyle === 'verbose' ? verboseSteps(p) : p[style];
        yield { id: `${name}:${i}`, question: p.question, steps, answer: p.answer };
      }
    },
  };
}

/** Both splits of the synthetic task as sources. */
export function syntheticDataset(options: SyntheticOptions = DEFAULT_SYNTHETIC): {
  train: DatasetSource;
  test: DatasetSource;
  validation: DatasetSource;
} {
  const splits = generateSynthetic(options);
  const nlStyle = options.nlStyle ?? 'short';
  return {
    train: syntheticSource('synthetic:train', splits.train, nlStyle),
    test: syntheticSource('synthetic:test', splits.test, nlStyle),
    validation: syntheticSource('synthetic:validation', splits.validation, nlStyle),
  };
}

/**
 * The "synthetic" format: `open("train")` / `open("test")` give the splits generated with the
 * default options (the trainer passes `data.synthetic` to `syntheticDataset` instead).
 */
export const syntheticFormat: DatasetFormat = {
  name: 'synthetic',
  description:
    'built-in seeded multi-step arithmetic word problems (equation and nl traces); open("train" | "test"), no file needed',
  open(split) {
    if (split !== 'train' && split !== 'test') {
      throw new KavaError(`data format "synthetic" has splits "train" and "test", not ${JSON.stringify(split)}`, {
        exitCode: 2,
      });
    }
    let source: DatasetSource | undefined;
    return {
      name: `synthetic:${split}`,
      examples(options) {
        source ??= syntheticDataset()[split];
        return source.examples(options);
      },
    };
  },
};
