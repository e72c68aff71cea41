// A run's folder, `<runs>/<id>/`: config.json, settings.txt, train.log, run/ (the kava run with its
// checkpoints) and, for a stage a later one starts from, model/ (the merged export).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonLines } from '@kava/core/app';

/**
 * A run's JSON-lines log. The last line may be torn (a training killed mid-append: SIGKILL, out of
 * memory, a node lost): it is dropped, as `kava train --resume` drops it; any other bad line is an
 * error that names the file and the line.
 */
const jsonLines = (file: string): Record<string, unknown>[] =>
  readJsonLines<Record<string, unknown>>(file, { onTornLine: () => {} });

/** A run's final evaluation row (as `kava train` writes it to eval.jsonl). */
export interface EvalRow {
  step: number;
  accuracy: number;
  correct: number;
  questions: number;
  predictionsFile: string;
  latentUsagePredictions?: { shuffled: string; placeholder: string };
  [more: string]: unknown;
}

/** What a finished run left: its final evaluation, its learning curve and its training seconds. */
export interface FinishedRun {
  runDir: string;
  result: EvalRow;
  curve: { step: number; accuracy: number }[];
  /** The sum of the step times (survives resumes). */
  seconds: number;
}

/** The finished run in `runDir`, or null when it has not finished (or never started). */
export function finishedRun(runDir: string): FinishedRun | null {
  const file = join(runDir, 'eval.jsonl');
  const metricsFile = join(runDir, 'metrics.jsonl');
  if (!existsSync(file) || !existsSync(metricsFile)) return null;
  const rows = jsonLines(file) as unknown as EvalRow[];
  const metrics = jsonLines(metricsFile);
  const last = rows.at(-1);
  if (!metrics.length || !last || last.step !== metrics.at(-1)!.totalSteps) return null;
  return {
    runDir,
    result: last,
    curve: rows.map((r) => ({ step: r.step, accuracy: r.accuracy })),
    seconds: metrics.reduce((sum, m) => sum + ((m.seconds as number | undefined) ?? 0), 0),
  };
}

/** How far an unfinished run got: its last logged step of all, or null before its first step. */
export function progressOf(runDir: string): { step: number; totalSteps: number } | null {
  const file = join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const last = jsonLines(file).at(-1);
  return last ? { step: last.step as number, totalSteps: last.totalSteps as number } : null;
}

/** Whether the run saved a checkpoint to resume from. */
export function hasCheckpoint(runDir: string): boolean {
  const dir = join(runDir, 'checkpoints');
  return existsSync(dir) && readdirSync(dir).some((name) => /^step-\d+$/.test(name));
}

/**
 * Makes `dir` the folder of a run with `settings`. A folder left by other settings (a changed
 * budget, or a changed run it started from) must be neither resumed nor read back as this run: it
 * is moved aside whole to `<dir>.stale-<time>`, never deleted. Returns the folder it moved, if any.
 */
export function claimRunFolder(dir: string, settings: string): string | null {
  const file = join(dir, 'settings.txt');
  let aside: string | null = null;
  if (existsSync(file) && readFileSync(file, 'utf8') !== settings) {
    aside = `${dir}.stale-${Date.now()}`;
    renameSync(dir, aside);
  }
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, settings);
  return aside;
}
