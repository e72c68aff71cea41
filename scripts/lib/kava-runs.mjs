// Running `kava train` children for the experiment scripts: one process group per child (a
// terminal's Ctrl-C reaches only the script, which forwards one SIGINT so each child saves a
// checkpoint), a log per run, and reading a finished run's results back.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const kava = join(root, 'packages/cli/bin/kava.js');

/**
 * The environment of every child: one BLAS kernel set and one BLAS thread, so that a backbone
 * rebuilt on a fresh machine (its model is not committed) is the committed one, bit for bit.
 * OpenBLAS picks its sgemm kernels by CPU (SkylakeX on an AVX-512 Xeon, Zen on an EPYC) and they
 * round differently; the Zen (= Haswell) kernels also round differently on two threads than on
 * one, and by default a large product takes a second thread whenever the other core is idle for a
 * moment, so even one machine could train another backbone. The committed builds were trained on
 * Zen 3 EPYC machines; with these settings, the equation seed-1 backbone rebuilt on an AVX-512
 * Xeon answered all 400 held-out questions as the committed build did (unpinned, the Xeon's own
 * kernels had made a 59 % teacher of it instead of 68.5 %). Set OPENBLAS_CORETYPE or
 * KAVA_BLAS_THREADS yourself to choose otherwise.
 */
const THREAD_VARS = ['KAVA_BLAS_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'];
export function childEnvFor(env, arch) {
  const threadsChosen = THREAD_VARS.some((v) => env[v]);
  return {
    ...(arch === 'x64' ? { OPENBLAS_CORETYPE: 'Zen' } : {}),
    ...(threadsChosen ? {} : { KAVA_BLAS_THREADS: '1' }),
    ...env,
  };
}
const childEnv = childEnvFor(process.env, process.arch);
/** The BLAS settings the trainings run with, for the experiment's log. */
export const blasSettings = ['OPENBLAS_CORETYPE', ...THREAD_VARS]
  .filter((v) => childEnv[v])
  .map((v) => `${v}=${childEnv[v]}`)
  .join(' ');

const jsonLines = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/**
 * A finished run's final evaluation, its evaluations during training (the learning curve) and its
 * training seconds (sum of step times; survives resumes), or null when the run has not finished.
 */
export function finishedRun(runDir) {
  const file = join(runDir, 'eval.jsonl');
  if (!existsSync(file) || !existsSync(join(runDir, 'metrics.jsonl'))) return null;
  const rows = jsonLines(file);
  const metrics = jsonLines(join(runDir, 'metrics.jsonl'));
  const finalRow = rows.at(-1);
  if (!metrics.length || !finalRow || finalRow.step !== metrics.at(-1).totalSteps) return null;
  return {
    runDir,
    result: finalRow,
    curve: rows.map((r) => ({ step: r.step, accuracy: r.accuracy })),
    seconds: metrics.reduce((sum, m) => sum + (m.seconds ?? 0), 0),
  };
}

/**
 * A run folder `dir` left by a call with other settings (a changed budget, or a stage-1 backbone
 * it was fine-tuned from that has changed since) must be neither resumed nor read back as this
 * call's result: it is moved aside whole (run, exported model, logs) to `<dir>.stale-<time>`,
 * never deleted, and the run starts again. `settings` is the string that decides the run's
 * numbers; it is kept in `<dir>/settings.txt`. Call it before `finishedRun`.
 */
export function setAsideIfStale(dir, settings) {
  const file = join(dir, 'settings.txt');
  if (existsSync(file) && readFileSync(file, 'utf8') !== settings) {
    const aside = `${dir}.stale-${Date.now()}`;
    renameSync(dir, aside);
    process.stderr.write(`experiment: ${dir} was trained with other settings; moved to ${aside}, training again\n`);
  }
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, settings);
}

export function hasCheckpoint(runDir) {
  const dir = join(runDir, 'checkpoints');
  return existsSync(dir) && readdirSync(dir).some((name) => /^step-\d+$/.test(name));
}

const children = new Set();
let stopping = false;
export const isStopping = () => stopping;
process.on('SIGINT', () => {
  if (stopping) process.exit(130);
  stopping = true;
  process.stderr.write(
    '\nexperiment: Ctrl-C, the running trainings save a checkpoint; run the same command again to resume\n',
  );
  for (const child of children) child.kill('SIGINT');
});

/** Runs `node kava.js ...argv` with its output appended to `log`; resolves with the exit code. */
export function runKava(argv, log) {
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `$ node ${[kava, ...argv].join(' ')}\n`, { flag: 'a' });
  return new Promise((done) => {
    const child = spawn(process.execPath, [kava, ...argv], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    const append = (chunk) => writeFileSync(log, chunk, { flag: 'a' });
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.on('close', (code) => {
      children.delete(child);
      done(code);
    });
  });
}

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
    if (!stopping) process.stderr.write(`experiment: ${dir} failed (exit ${code}), see ${log}\n`);
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
    for (let item = next(); item && !stopping; item = next()) await task(item);
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}
