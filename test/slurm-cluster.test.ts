// The Slurm test cluster itself (test/slurm-cluster.ts): a job array with a dependent job, and
// scancel of running work, seen through squeue and the completion log (sacct -c). Skips where it
// cannot run a cluster (not root, no apt-get), except in CI (.ci/run sets KAVA_CI=1), where a skip
// is a failure: the later Slurm executor tests depend on this cluster.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startSlurm, type SlurmCluster } from './slurm-cluster.js';

let cluster: SlurmCluster | undefined;
let skipReason = '';

beforeAll(async () => {
  // At least 2 CPUs even on a 1-CPU machine (the node may claim more than it has), so that the
  // tests below can count on two tasks running at once.
  const started = await startSlurm({ cpus: Math.max(2, cpus().length) });
  if ('skip' in started) {
    if (process.env.KAVA_CI) throw new Error(`CI must run the Slurm cluster test, but: ${started.skip}`);
    skipReason = started.skip;
    console.warn(`slurm-cluster.test.ts skipped: ${started.skip}`);
  } else {
    cluster = started;
  }
}, 600_000); // a first run installs the packages

afterAll(async () => {
  if (!cluster) return;
  const { dir } = cluster;
  await cluster.stop();
  expect(existsSync(dir)).toBe(false);
});

/** Runs a Slurm client command against the cluster; its stdout, or a thrown error with the logs. */
function slurm(c: SlurmCluster, cmd: string, ...args: string[]): string {
  const result = spawnSync(cmd, args, { env: c.env, encoding: 'utf8', timeout: 15_000 });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: exit ${result.status}\n${result.stderr}\n${c.logTail()}`);
  }
  return result.stdout;
}

/** squeue's view of jobs, finished ones too (within MinJobAge): array id (1234_0) → state. */
function states(c: SlurmCluster, ids: string[]): Map<string, string> {
  const out = slurm(c, 'squeue', '-h', '-t', 'all', '-j', ids.join(','), '-o', '%i %T');
  return new Map(
    out.split('\n').flatMap((line) => (line.trim() ? [line.trim().split(/\s+/) as [string, string]] : [])),
  );
}

async function waitFor<T>(what: string, c: SlurmCluster, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${c.logTail()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One line of the completion log per finished job: its KEY=value fields. */
function completionLog(c: SlurmCluster): Record<string, string>[] {
  if (!existsSync(c.jobCompLoc)) return [];
  return readFileSync(c.jobCompLoc, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').flatMap((f) => (f.includes('=') ? [f.split(/=(.*)/)] : []))));
}

test('an array runs its tasks side by side, and a job with afterok on it runs after them', async () => {
  if (!cluster) return console.warn(`skipped: ${skipReason}`);
  const c = cluster;
  expect(c.version).toMatch(/^slurm/);
  // Each task writes its id, then its start and end times; 2 s long so that tasks overlap.
  const task = `echo $SLURM_ARRAY_TASK_ID > ${c.dir}/out-$SLURM_ARRAY_TASK_ID; date +%s.%N > ${c.dir}/start-$SLURM_ARRAY_TASK_ID; sleep 2; date +%s.%N > ${c.dir}/end-$SLURM_ARRAY_TASK_ID`;
  const array = slurm(c, 'sbatch', '--parsable', '--array=0-2', `--output=${c.dir}/%A_%a.log`, '--wrap', task).trim();
  expect(array).toMatch(/^\d+$/);
  const after = slurm(
    c,
    'sbatch',
    '--parsable',
    `--dependency=afterok:${array}`,
    `--output=${c.dir}/after.log`,
    '--wrap',
    `date +%s.%N > ${c.dir}/after`,
  ).trim();
  // Right after submission it waits for the array.
  expect(slurm(c, 'squeue', '-h', '-j', after, '-o', '%T %r').trim()).toBe('PENDING Dependency');

  const ids = [0, 1, 2].map((i) => `${array}_${i}`);
  const final = await waitFor('the array and the dependent job to complete', c, () => {
    const s = states(c, [array, after]);
    return [...ids, after].every((id) => s.get(id) === 'COMPLETED') ? s : undefined;
  });
  expect(final.size).toBe(4);
  const read = (name: string) => Number(readFileSync(join(c.dir, name), 'utf8'));
  for (const i of [0, 1, 2]) expect(read(`out-${i}`)).toBe(i);
  const starts = [0, 1, 2].map((i) => read(`start-${i}`));
  const ends = [0, 1, 2].map((i) => read(`end-${i}`));
  expect(read('after')).toBeGreaterThanOrEqual(Math.max(...ends));
  // At least two tasks ran at once: the second to start started before the first to end ended.
  expect([...starts].sort((a, b) => a - b)[1]).toBeLessThan(Math.min(...ends));
  // The completion log has all four: the tasks under their raw ids, with ArrayJobId/ArrayTaskId.
  const log = completionLog(c);
  expect(log.filter((j) => j.ArrayJobId === array).map((j) => Number(j.ArrayTaskId))).toEqual(
    expect.arrayContaining([0, 1, 2]),
  );
  expect(log.find((j) => j.JobId === after)?.JobState).toBe('COMPLETED');
});

test('scancel of a running array task and then of the whole array shows CANCELLED in squeue and sacct -c', async () => {
  if (!cluster) return console.warn(`skipped: ${skipReason}`);
  const c = cluster;
  const array = slurm(c, 'sbatch', '--parsable', '--array=0-1', `--output=${c.dir}/%A_%a.log`, '--wrap', 'sleep 300');
  const id = array.trim();
  const [task0, task1] = [`${id}_0`, `${id}_1`];
  await waitFor('the sleeps to run', c, () => {
    const s = states(c, [id]);
    return s.get(task0) === 'RUNNING' && s.get(task1) === 'RUNNING' ? true : undefined;
  });

  slurm(c, 'scancel', task1);
  await waitFor('squeue to show the task CANCELLED', c, () =>
    states(c, [id]).get(task1) === 'CANCELLED' ? true : undefined,
  );
  // Its sibling runs on.
  expect(states(c, [id]).get(task0)).toBe('RUNNING');
  slurm(c, 'scancel', id);
  await waitFor('squeue to show the array CANCELLED', c, () =>
    states(c, [id]).get(task0) === 'CANCELLED' ? true : undefined,
  );

  // sacct -c knows an array task only by its raw job id, which squeue's %A gives.
  const raw = (task: string) => slurm(c, 'squeue', '-h', '-t', 'all', '-j', task, '-o', '%A').trim();
  const sacct = (jobId: string) =>
    waitFor(`sacct -c to list job ${jobId}`, c, () => {
      const args = ['-c', '-n', '-P', '-j', jobId, '-o', 'JobID,State,ExitCode'];
      return spawnSync('sacct', args, { env: c.env, encoding: 'utf8' }).stdout.trim() || undefined;
    });
  for (const task of [task0, task1]) expect(await sacct(raw(task))).toBe(`${raw(task)}|CANCELLED|0:0`);
  // Plain sacct needs slurmdbd, which this cluster has not.
  const plain = spawnSync('sacct', ['-j', id], { env: c.env, encoding: 'utf8' });
  expect(plain.stdout + plain.stderr).toMatch(/accounting storage is disabled/);
});
