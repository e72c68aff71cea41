import type { DatasetFormat, DatasetSource, Example, ReadOptions } from '../../contracts/dataset.js';
import { KavaError } from '../../errors.js';
import { generateSynthetic, type SyntheticOptions, type SyntheticProblem } from './generator.js';

/** The defaults of `data.synthetic` in the configuration schema. */
export const DEFAULT_SYNTHETIC: SyntheticOptions = { trainSize: 20000, testSize: 500, minSteps: 2, maxSteps: 4, seed: 1234 };

/** A DatasetSource over generated problems, in either trace style. */
export function syntheticSource(name: string, problems: readonly SyntheticProblem[]): DatasetSource {
  return {
    name,
    skipped: 0,
    async *examples(options: ReadOptions = {}): AsyncGenerator<Example> {
      const style = options.trace ?? 'equation';
      for (const [i, p] of problems.entries()) {
        yield { id: `${name}:${i}`, question: p.question, steps: p[style], answer: p.answer };
      }
    },
  };
}

/** Both splits of the synthetic task as sources. */
export function syntheticDataset(options: SyntheticOptions = DEFAULT_SYNTHETIC): { train: DatasetSource; test: DatasetSource } {
  const splits = generateSynthetic(options);
  return { train: syntheticSource('synthetic:train', splits.train), test: syntheticSource('synthetic:test', splits.test) };
}

/**
 * The "synthetic" format: `open("train")` / `open("test")` give the splits generated with the
 * default options (the trainer passes `data.synthetic` to `syntheticDataset` instead).
 */
export const syntheticFormat: DatasetFormat = {
  name: 'synthetic',
  description: 'built-in seeded multi-step arithmetic word problems (equation and nl traces); open("train" | "test"), no file needed',
  open(split) {
    if (split !== 'train' && split !== 'test') {
      throw new KavaError(`data format "synthetic" has splits "train" and "test", not ${JSON.stringify(split)}`, { exitCode: 2 });
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
