// The Slurm executor: one job array per stage, one array task per run to train, a stage that
// fine-tunes an earlier one's models submitted with --dependency=afterok on that stage's job. Each
// task is `kava experiment task GRID --run ID --settings HASH` (the same trainRun as the local
// executor), writing its record to the shared results folder; the array's script maps task ids
// to runs, so a task trains the run it was submitted for even if the grid file changes meanwhile
// (it refuses to when that run's settings changed). Finished runs are never submitted,
// nor runs already pending or running; a cancelled or failed task resumes from its checkpoint
// when the grid is run again. Only Slurm's own commands: sbatch, squeue, scancel.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KavaError } from '@kava/core/app';
import type { Grid } from '../grid-file.js';
import type { KavaCommand } from '../kava-child.js';
import type { PlannedRun } from '../plan.js';
import type { ScheduledRun } from '../schedule.js';

/** One sbatch call: a stage's job array; task i trains run ids[i]. */
export interface SlurmSubmission {
  jobId: string;
  stage: string;
  ids: string[];
  dependsOn: string[];
  submitted: string;
}

/** A short fingerprint of a run's settings: what its task checks before it trains. */
export const settingsHash = (settings: string): string =>
  createHash('sha256').update(settings).digest('hex').slice(0, 16);

/** An array task squeue lists: pending, running, or ended within MinJobAge. */
export interface SlurmTask {
  jobId: string;
  index: number;
  /** The run it trains (from jobs.jsonl), or null for a job this checkout did not record. */
  id: string | null;
  /** squeue's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ... */
  state: string;
  stage: string;
  /** Why it is pending (e.g. Dependency, DependencyNeverSatisfied), or "None". */
  reason: string;
}

const slurmFolder = (grid: Grid) => join(grid.runs, 'slurm');
const jobsFile = (grid: Grid) => join(slurmFolder(grid), 'jobs.jsonl');
/** The job name of a stage's arrays: how squeue finds this grid's tasks. */
export const jobName = (grid: Grid, stage: string): string => `kava-${grid.name}-${stage}`;

/** Runs a Slurm command; a missing command or a refusal becomes an error that names it. */
function slurm(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new KavaError(`${command} is not installed here: the slurm executor runs on a Slurm cluster's login node`);
    throw new KavaError(`${command} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Every submission of this grid so far (jobs.jsonl, one line each). */
export function submissions(grid: Grid): SlurmSubmission[] {
  if (!existsSync(jobsFile(grid))) return [];
  return readFileSync(jobsFile(grid), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SlurmSubmission);
}

/** The states of a task that is still to run, running, or held to run again (squeue's long names). */
const LIVE = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'SIGNALING',
  'STAGE_OUT',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'RESIZING',
]);

/**
 * This grid's tasks that squeue lists: pending and running ones, and (`ended`) those that ended
 * within the cluster's MinJobAge (COMPLETED, FAILED, CANCELLED, ...). Slurm's accounting (`sacct`)
 * needs slurmdbd, which a small cluster may not run: squeue and the records are what always tell.
 */
export function queuedTasks(grid: Grid, { ended = false } = {}): SlurmTask[] {
  const names = grid.stages.map((s) => jobName(grid, s.name));
  const subs = new Map(submissions(grid).map((s) => [s.jobId, s]));
  // Only this user's jobs (--me), and of those only the ones working in this grid's runs folder
  // (%Z): another checkout's grid of the same name is another experiment.
  // --array: one line per array task, %i = <job>_<index> (a pending range prints as <job>_[1-3]); %r the reason
  const out = slurm('squeue', [
    '--noheader',
    '--me',
    '--array',
    ...(ended ? ['--states=all'] : []),
    `--name=${names.join(',')}`,
    '--format=%i|%T|%j|%r|%Z',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const [id, state, name, reason, workDir] = line.trim().split('|');
      const stage = grid.stages.find((s) => jobName(grid, s.name) === name)?.name;
      const m = /^(\d+)_(\d+|\[[^\]]+\])$/.exec(id ?? '');
      if (!stage || !m || workDir !== grid.runs) return [];
      const sub = subs.get(m[1]!);
      return expandIndices(m[2]!).map((index) => ({
        jobId: m[1]!,
        index,
        id: sub?.ids[index] ?? null,
        state: state!,
        stage,
        reason: reason ?? '',
      }));
    });
}

/** "[1-3,5]" or "7" -> the indices (squeue's form of a pending array range). */
function expandIndices(text: string): number[] {
  const inner = text.replace(/^\[|\]$/g, '').replace(/%\d+$/, '');
  return inner.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/** Options of a submission (the grid file's `slurm` section, overridden by flags). */
export interface SlurmOptions {
  partition?: string;
  cpusPerTask: number;
  mem?: string;
  time?: string;
  options: string[];
}

/**
 * Submits the scheduled runs that Slurm does not already hold: one array per stage, in stage
 * order, each depending (afterok) on the jobs that train the runs it starts from. Returns the
 * submissions (also appended to <runs>/slurm/jobs.jsonl).
 */
export function submitSlurm(
  grid: Grid,
  plan: readonly PlannedRun[],
  scheduled: readonly ScheduledRun[],
  kava: KavaCommand,
  options: SlurmOptions,
  log: (line: string) => void,
): SlurmSubmission[] {
  mkdirSync(slurmFolder(grid), { recursive: true });
  const queued = queuedTasks(grid).filter((t) => LIVE.has(t.state) && t.id !== null);
  // A task waiting on a job that failed or was cancelled would wait forever: it is cancelled and
  // submitted again (after the run it waits for).
  const stuck = queued.filter((t) => t.reason === 'DependencyNeverSatisfied');
  for (const t of stuck) slurm('scancel', [`${t.jobId}_${t.index}`]);
  const active = queued.filter((t) => !stuck.includes(t));
  const jobOf = new Map<string, string>(); // run id -> the job that trains it (active or submitted now)
  for (const t of active) jobOf.set(t.id!, t.jobId);
  const made: SlurmSubmission[] = [];
  for (const stage of grid.stages) {
    const todo = scheduled.filter((s) => s.run.stage === stage.name && !jobOf.has(s.run.id));
    const held = scheduled.filter((s) => s.run.stage === stage.name && jobOf.has(s.run.id));
    if (held.length) log(`${stage.name}: ${held.length} run(s) already in the queue (${held.map((s) => s.run.id).join(', ')})`);
    if (!todo.length) continue;
    const dependsOn = [
      ...new Set(todo.flatMap((s) => (s.run.from && jobOf.has(s.run.from) ? [jobOf.get(s.run.from)!] : []))),
    ];
    // sbatch keeps a copy of the script: a later submission may rewrite the file.
    const script = join(slurmFolder(grid), `${stage.name}.sh`);
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `# kava experiment run ${grid.file}: one run of stage "${stage.name}" per array task`,
        'case "$SLURM_ARRAY_TASK_ID" in',
        ...todo.map((s, i) => `  ${i}) run=${s.run.id}; settings=${settingsHash(s.run.settings)} ;;`),
        '  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
        'esac',
        `exec ${[...kava, 'experiment', 'task', grid.file].map(quote).join(' ')} --run "$run" --settings "$settings"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const args = [
      '--parsable',
      `--job-name=${jobName(grid, stage.name)}`,
      `--array=0-${todo.length - 1}`,
      `--output=${join(slurmFolder(grid), `${stage.name}-%A_%a.log`)}`,
      `--chdir=${grid.runs}`,
      `--cpus-per-task=${options.cpusPerTask}`,
      ...(options.partition ? [`--partition=${options.partition}`] : []),
      ...(options.mem ? [`--mem=${options.mem}`] : []),
      ...(options.time ? [`--time=${options.time}`] : []),
      // Where the cluster honours it, a stage whose starting point failed or was cancelled leaves the
      // queue instead of waiting (DependencyNeverSatisfied); elsewhere the next `run` cancels it.
      ...(dependsOn.length ? [`--dependency=afterok:${dependsOn.join(':')}`, '--kill-on-invalid-dep=yes'] : []),
      ...options.options,
      script,
    ];
    const jobId = slurm('sbatch', args).trim().split(';')[0]!;
    const sub: SlurmSubmission = {
      jobId,
      stage: stage.name,
      ids: todo.map((s) => s.run.id),
      dependsOn,
      submitted: new Date().toISOString(),
    };
    appendFileSync(jobsFile(grid), `${JSON.stringify(sub)}\n`);
    for (const s of todo) jobOf.set(s.run.id, jobId);
    made.push(sub);
    log(
      `${stage.name}: job ${jobId}, ${todo.length} task(s)${dependsOn.length ? `, after job ${dependsOn.join(', ')}` : ''}: ${sub.ids.join(', ')}`,
    );
  }
  return made;
}

/** Cancels this grid's pending and running tasks (this user's, in this grid's runs folder). */
export function cancelSlurm(grid: Grid): string[] {
  const jobs = [...new Set(queuedTasks(grid).map((t) => t.jobId))];
  if (jobs.length) slurm('scancel', jobs);
  return jobs;
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
