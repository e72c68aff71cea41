// Running `kava` commands as children: one process group each (a terminal's Ctrl-C reaches only
// the experiment, which forwards one signal so each training saves a checkpoint), output appended
// to the run's log, and the BLAS settings that make a rebuilt backbone the same model.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** How to start the `kava` command: the program and its first arguments (e.g. [node, kava.js]). */
export type KavaCommand = readonly string[];

const THREAD_VARS = ['KAVA_BLAS_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'];

/**
 * The environment of every training: one BLAS kernel set and one BLAS thread, so a run trained
 * again on another machine (a fresh clone rebuilds a backbone, whose weights are not committed)
 * is the same model bit for bit. OpenBLAS picks its sgemm kernels by CPU (SkylakeX, Zen, ...) and
 * they round differently; the Zen kernels also round differently on two threads than on one.
 * Variables the user set win.
 */
export function childEnvFor(env: NodeJS.ProcessEnv, arch: string = process.arch): NodeJS.ProcessEnv {
  const threadsChosen = THREAD_VARS.some((v) => env[v]);
  return {
    ...(arch === 'x64' ? { OPENBLAS_CORETYPE: 'Zen' } : {}),
    ...(threadsChosen ? {} : { KAVA_BLAS_THREADS: '1' }),
    ...env,
  };
}

/** The BLAS settings of `env` as one line (for logs and records). */
export const blasSettings = (env: NodeJS.ProcessEnv): string =>
  ['OPENBLAS_CORETYPE', ...THREAD_VARS]
    .filter((v) => env[v])
    .map((v) => `${v}=${env[v]}`)
    .join(' ');

const children = new Set<ChildProcess>();
let stopping: NodeJS.Signals | null = null;

/** The signal that asked the experiment to stop (then no new training starts), or null. */
export const stopSignal = (): NodeJS.Signals | null => stopping;

/**
 * Installs the handlers of SIGINT and SIGTERM (Ctrl-C; scancel, a job's time limit): the first
 * is forwarded once to every running training, which finishes its step, saves a checkpoint and
 * exits; a second quits at once. Returns a function that removes them.
 */
export function forwardStopSignals(onStop: (signal: NodeJS.Signals) => void = () => {}): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = signal;
    onStop(signal);
    // Inside a Slurm job, scancel and the time limit signal every process of the job, the
    // trainings too: a second SIGTERM from here would make them quit without their checkpoint.
    if (process.env.SLURM_JOB_ID && signal === 'SIGTERM') return;
    for (const child of children) child.kill(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs `kava ...argv` with its output appended to `log`; resolves with its exit code. */
export function runKava(kava: KavaCommand, argv: readonly string[], log: string, cwd: string): Promise<number> {
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `$ ${[...kava, ...argv].join(' ')}\n`, { flag: 'a' });
  return new Promise((done, fail) => {
    const child = spawn(kava[0]!, [...kava.slice(1), ...argv], {
      cwd,
      env: childEnvFor(process.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    const append = (chunk: Buffer) => writeFileSync(log, chunk, { flag: 'a' });
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.on('error', (err) => {
      children.delete(child);
      fail(new Error(`cannot start ${kava.join(' ')}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      done(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2) : 1));
    });
  });
}
