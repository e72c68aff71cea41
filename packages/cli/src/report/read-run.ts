import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError, type EvalReport, type StepMetrics } from '@kava/core';

/** One line of metrics.jsonl: the step's metrics as the `step` hook saw them, plus timing. */
export type MetricsRow = StepMetrics & { seconds: number; epoch: number };

/** One line of eval.jsonl: an evaluation report and the step it ran at. */
export type EvalRow = EvalReport & { step: number };

function jsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line, i) => {
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new KavaError(`${file}:${i + 1}: not a JSON line`);
    }
  });
}

/** The metrics and evaluations a run directory holds. */
export function readRun(runDir: string): { metrics: MetricsRow[]; evals: EvalRow[]; config: Record<string, unknown> } {
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new KavaError(`${runDir}: not a run directory (no config.json)`, { exitCode: 2 });
  return {
    metrics: jsonLines<MetricsRow>(join(runDir, 'metrics.jsonl')),
    evals: jsonLines<EvalRow>(join(runDir, 'eval.jsonl')),
    config: JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>,
  };
}
