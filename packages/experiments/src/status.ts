// Where each run of a grid stands: done (its record, with these settings), in Slurm's queue,
// part-trained (its folder's last step), stale (a record of other settings) or not started.
import { join } from 'node:path';
import type { Grid } from './grid-file.js';
import type { PlannedRun } from './plan.js';
import { runFolder } from './plan.js';
import { progressOf } from './run-folder.js';
import type { ResultsStore } from './store.js';
import type { SlurmTask } from './executors/slurm.js';

/** One run's state. */
export interface RunStatus {
  id: string;
  stage: string;
  state: 'done' | 'queued' | 'running' | 'ended' | 'part-trained' | 'stale' | 'not started';
  /** done: its accuracy; part-trained and running: the step it reached; queued/ended: Slurm's state. */
  detail: string;
}

/**
 * The status of every run: records first, then what Slurm says (`tasks`, empty for a local grid),
 * then the run folder.
 */
export function gridStatus(
  grid: Grid,
  runs: readonly PlannedRun[],
  store: ResultsStore,
  tasks: readonly SlurmTask[] = [],
): RunStatus[] {
  return runs.map((run) => {
    const base = { id: run.id, stage: run.stage };
    const record = store.read(run.id);
    if (record?.settings === run.settings)
      return { ...base, state: 'done', detail: `${(record.accuracy * 100).toFixed(1)} % (${record.correct}/${record.questions})` };
    // The newest job of this run first (a resubmission after a cancel comes later).
    const task = tasks
      .filter((t) => t.id === run.id)
      .sort((a, b) => Number(b.jobId) - Number(a.jobId))[0];
    const progress = progressOf(join(runFolder(grid, run.id), 'run'));
    const steps = progress ? `step ${progress.step}/${progress.totalSteps}` : 'no step yet';
    if (task && (task.state === 'PENDING' || task.state === 'CONFIGURING'))
      return { ...base, state: 'queued', detail: `job ${task.jobId}_${task.index} pending (${task.reason})` };
    if (task && (task.state === 'RUNNING' || task.state === 'COMPLETING'))
      return { ...base, state: 'running', detail: `job ${task.jobId}_${task.index}, ${steps}` };
    if (task) return { ...base, state: 'ended', detail: `job ${task.jobId}_${task.index} ${task.state.toLowerCase()}, ${steps}` };
    if (progress) return { ...base, state: 'part-trained', detail: steps };
    if (record) return { ...base, state: 'stale', detail: 'its record was made with other settings' };
    return { ...base, state: 'not started', detail: '' };
  });
}
