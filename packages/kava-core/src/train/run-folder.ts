import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError } from '../errors.js';
import { fileError, makeDir } from '../io/file-errors.js';

/**
 * What a run folder holds, and the files a training writes into it. A start that fails before
 * the first step and the first checkpoint (a full disk, a crash in the first micro-batch, a kill)
 * leaves at most these files; they must not block the retry (issue 43, finding 8).
 */

/** Files and folders a training writes into its run folder. */
const RUN_FILES = ['config.json', 'metrics.jsonl', 'eval.jsonl', 'resumes.jsonl', 'eval', 'checkpoints'];

/**
 * `empty`: nothing of a run; `failed-start`: a config.json but no checkpoint and no trained step
 * (the start failed or was killed); `run`: a run, to be continued with --resume, never overwritten.
 */
export type RunFolderState = 'empty' | 'failed-start' | 'run';

export function runFolderState(dir: string): RunFolderState {
  if (!existsSync(join(dir, 'config.json'))) return 'empty';
  const checkpoints = join(dir, 'checkpoints');
  const saved =
    existsSync(checkpoints) &&
    statSync(checkpoints).isDirectory() &&
    readdirSync(checkpoints).some((name) => !name.startsWith('.'));
  const metrics = join(dir, 'metrics.jsonl');
  const trained = existsSync(metrics) && statSync(metrics).size > 0;
  return saved || trained ? 'run' : 'failed-start';
}

/** Removes the files a failed start left in `dir` (never anything else the folder holds). */
export function clearFailedStart(dir: string): void {
  for (const name of RUN_FILES) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Refuses a folder that holds a run for a new training (a failed start's leftovers are fine). */
export function checkFreshRunDir(dir: string, resumeHint: string): RunFolderState {
  const state = runFolderState(dir);
  if (state === 'run')
    throw new KavaError(
      `--run-dir ${dir}: already holds a run (config.json and its checkpoints or metrics); continue it with --resume ${resumeHint} or choose another folder`,
      { exitCode: 2 },
    );
  return state;
}

/**
 * Creates a new run directory `<out>/<name>` (or `<name>-2`, `-3`, … when taken): run names have
 * one-second stamps, and two runs started together must not write into the same folder.
 */
export function claimRunDir(out: string, name: string): string {
  makeDir(out);
  for (let n = 1; ; n++) {
    const dir = join(out, n === 1 ? name : `${name}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(dir, 'create the run folder', error);
    }
  }
}
