// `kava experiment run --executor slurm` on a real one-node Slurm cluster (test/slurm-cluster.ts):
// the tiny two-stage grid as two job arrays (the methods after the backbones, afterok); one
// backbone task cancelled mid-run; `run` again submits only what has no record, the cancelled
// training resumes from its checkpoint, and every record lands once and matches a local run of
// the same grid (the same answers, question for question, from bit-identical backbones).
// Skips where no cluster can start (not root, no apt-get), except in CI (KAVA_CI=1).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_GRID } from './tiny-grid.js';
import { startSlurm, type SlurmCluster } from './slurm-cluster.js';

const KAVA = resolve(dirname(fileURLToPath(import.meta.url)), '../packages/cli/bin/kava.js');
// The backbones train longer than the local test's, so that one can be cancelled mid-run after a checkpoint.
const GRID = TINY_GRID.replace(
  'train: { steps: 10, lr: 3.0e-3, evalEvery: 10 }',
  'train: { steps: 40, lr: 3.0e-3, evalEvery: 40 }',
);

let cluster: SlurmCluster | undefined;
let dir: string;
let local: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kava-slurm-grid-'));
  local = mkdtempSync(join(tmpdir(), 'kava-local-grid-'));
  writeFileSync(join(dir, 'grid.yaml'), GRID);
  writeFileSync(join(local, 'grid.yaml'), GRID);
  const started = await startSlurm({ cpus: 2 });
  if ('skip' in started) {
    if (process.env.KAVA_CI) throw new Error(`CI must run the Slurm executor test, but: ${started.skip}`);
    console.warn(`experiment-slurm.test.ts skipped: ${started.skip}`);
  } else cluster = started;
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(local, { recursive: true, force: true });
});

const kava = (cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [KAVA, 'experiment', ...args], { cwd, env, encoding: 'utf8' });
const results = (root: string) => join(root, 'experiments/tiny/results');
const records = (root: string) => (existsSync(results(root)) ? readdirSync(results(root)).sort() : []);

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const status = kava(dir, ['status', 'grid.yaml', '--slurm'], cluster!.env);
      throw new Error(`timed out waiting for ${what}\n${status.stdout}${status.stderr}\n${cluster!.logTail()}`);
    }
    await sleep(1000);
  }
}

const squeue = (c: SlurmCluster) =>
  spawnSync('squeue', ['--noheader', '--array', '--format=%i|%T|%j|%r'], { env: c.env, encoding: 'utf8' }).stdout;

it('runs the grid as job arrays, survives a cancelled task, and lands every record once, as a local run does', async () => {
  if (!cluster) return;
  const c = cluster;
  const first = kava(dir, ['run', 'grid.yaml', '--executor', 'slurm'], c.env);
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  const backboneJob = /backbone: job (\d+), 2 task\(s\): backbone-equation-seed0, backbone-equation-seed1/.exec(
    first.stdout,
  )?.[1];
  expect(backboneJob).toBeDefined();
  expect(first.stdout).toMatch(new RegExp(`methods: job \\d+, 4 task\\(s\\), after job ${backboneJob}`));

  // Cancel backbone seed 0 once it has saved a checkpoint (every 5 steps), mid-run.
  const checkpoints = join(dir, 'experiments/tiny/runs/backbone-equation-seed0/run/checkpoints');
  await waitFor(
    'a checkpoint of backbone-equation-seed0',
    () => (existsSync(checkpoints) && readdirSync(checkpoints).some((n) => /^step-\d+$/.test(n)) ? true : undefined),
    300_000,
  );
  spawnSync('scancel', [`${backboneJob}_0`], { env: c.env });
  // The other backbone finishes; the methods' array leaves the queue or waits forever, never runs.
  await waitFor(
    'backbone-equation-seed1 to finish',
    () => (records(dir).includes('backbone-equation-seed1.json') ? true : undefined),
    300_000,
  );
  await waitFor('the queue to hold nothing running', () => (/RUNNING/.test(squeue(c)) ? undefined : true), 120_000);
  expect(records(dir)).toEqual(['backbone-equation-seed1.json']);
  const status = kava(dir, ['status', 'grid.yaml', '--slurm'], c.env);
  expect(status.stdout).toMatch(/backbone-equation-seed0 +(part-trained|ended) .*step \d+\/40/);

  // Again: only what has no record is submitted; the cancelled training resumes from its checkpoint.
  const again = kava(dir, ['run', 'grid.yaml', '--executor', 'slurm'], c.env);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('5 to train: backbone-equation-seed0, kava-rkv-equation-seed0');
  expect(again.stdout).toMatch(/backbone: job \d+, 1 task\(s\): backbone-equation-seed0\n/);
  await waitFor('all 6 records', () => (records(dir).length === 6 ? true : undefined), 600_000);
  await waitFor('the queue to empty', () => (squeue(c).trim() === '' ? true : undefined), 60_000);
  expect(readFileSync(join(dir, 'experiments/tiny/runs/backbone-equation-seed0/train.log'), 'utf8')).toMatch(
    /train --resume /,
  );
  const third = kava(dir, ['run', 'grid.yaml', '--executor', 'slurm'], c.env);
  expect(third.stdout).toContain('6 done; 0 to train');
  expect(third.stdout).toContain('nothing to submit');

  // The same grid trained locally gives the same records (settings, answers, curves, backbones).
  const run = kava(local, ['run', 'grid.yaml']);
  expect(run.status).toBe(0);
  expect(records(local)).toEqual(records(dir));
  for (const file of records(dir)) {
    const [a, b] = [dir, local].map((root) => JSON.parse(readFileSync(join(results(root), file), 'utf8')));
    for (const key of ['settings', 'accuracy', 'perQuestion', 'curve', 'sha256', 'backbone'])
      expect([file, key, a[key]]).toEqual([file, key, b[key]]);
  }
}, 1_500_000);
