import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError, readJsonLines, readJsonObject, type EvalReport, type StepMetrics } from '@kava/core/app';

/** One line of metrics.jsonl: the step's metrics as the `step` hook saw them, plus timing. */
export type MetricsRow = StepMetrics & {
  seconds: number;
  epoch: number;
  /** Whether clipping scaled the step's gradient (runs before this field existed lack it). */
  clipped?: boolean;
  /** Each weighted term's gradient norm alone, on the steps train.gradNormEvery measured. */
  termGradNorms?: Record<string, number>;
};

/** One line of eval.jsonl: an evaluation report and the step it ran at. */
export type EvalRow = EvalReport & { step: number };

/** The rows of a run's log; a torn last line (a crash mid-append) is left out with a warning. */
function jsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readJsonLines<T>(file, {
    onTornLine: (line) =>
      process.stderr.write(
        `kava: warning: ${file}:${line}: left out a torn last line (a crash while it was written)\n`,
      ),
  });
}

/** The metrics and evaluations a run directory holds. */
export function readRun(runDir: string): { metrics: MetricsRow[]; evals: EvalRow[]; config: Record<string, unknown> } {
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new KavaError(`${runDir}: not a run directory (no config.json)`, { exitCode: 2 });
  return {
    metrics: jsonLines<MetricsRow>(join(runDir, 'metrics.jsonl')),
    evals: jsonLines<EvalRow>(join(runDir, 'eval.jsonl')),
    config: readJsonObject(configFile),
  };
}
