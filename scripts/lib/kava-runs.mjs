// Running `kava train` children for the experiment scripts: one process group per child (a
// terminal's Ctrl-C reaches only the script, which forwards one SIGINT so each child saves a
// checkpoint), a log per run, and reading a finished run's results back.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  blasSettings as blasOf,
  childEnvFor,
  claimRunFolder,
  finishedRun,
  forwardStopSignals,
  hasCheckpoint,
  runKava as runKavaCommand,
  stopSignal,
} from '@kava/experiments';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const kava = join(root, 'packages/cli/bin/kava.js');

// The children's environment (one BLAS kernel set and one thread, so a backbone rebuilt on a
// fresh machine is the committed one bit for bit) and finished-run reading are @kava/experiments'.
export { childEnvFor, finishedRun, hasCheckpoint };
/** The BLAS settings the trainings run with, for the experiment's log. */
export const blasSettings = blasOf(childEnvFor(process.env));

/**
 * A run folder `dir` left by a call with other settings is moved aside whole to
 * `<dir>.stale-<time>` (never deleted) and the run starts again. Call it before `finishedRun`.
 */
export function setAsideIfStale(dir, settings) {
  const aside = claimRunFolder(dir, settings);
  if (aside)
    process.stderr.write(`experiment: ${dir} was trained with other settings; moved to ${aside}, training again\n`);
}

export const isStopping = () => stopSignal() !== null;
forwardStopSignals(() =>
  process.stderr.write(
    '\nexperiment: Ctrl-C, the running trainings save a checkpoint; run the same command again to resume\n',
  ),
);

/** Runs `node kava.js ...argv` with its output appended to `log`; resolves with the exit code. */
export const runKava = (argv, log) => runKavaCommand([process.execPath, kava], argv, log, root);

/**
 * Trains one run into `<dir>/run` with `<dir>/config.json`, resuming from its last checkpoint
 * when it has one; resolves with `finishedRun` (null on failure, with the log named on stderr).
 */
export async function trainRun(dir, presets, config, extraArgs = []) {
  const runDir = join(dir, 'run');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const resume = hasCheckpoint(runDir);
  if (!resume) rmSync(runDir, { recursive: true, force: true }); // a start that saved nothing
  const log = join(dir, 'train.log');
  // A resumed run continues with its own saved settings (kava refuses --config/--preset with --resume).
  const argv = resume
    ? ['train', '--resume', runDir]
    : ['train', '-p', presets.join(','), '-c', configFile, '--run-dir', runDir];
  const code = await runKava([...argv, ...extraArgs], log);
  if (code !== 0) {
    if (!isStopping()) process.stderr.write(`experiment: ${dir} failed (exit ${code}), see ${log}\n`);
    return null;
  }
  return finishedRun(runDir);
}

/**
 * Runs `task` over `items` with at most `jobs` at a time; stops taking new items on Ctrl-C. A free
 * worker takes the first item that is `ready` (the first of all when none is), so it need not sit
 * waiting on what another worker is still making while other items could go.
 */
export async function pool(items, jobs, task, ready = () => true) {
  const queue = [...items];
  const next = () => {
    const i = queue.findIndex(ready);
    return queue.splice(Math.max(i, 0), 1)[0];
  };
  const worker = async () => {
    for (let item = next(); item && !isStopping(); item = next()) await task(item);
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}
