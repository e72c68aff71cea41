// The local executor: N trainings at a time on this machine, each run after the run it fine-tunes.
import type { PlannedRun } from '../plan.js';
import { stopSignal } from '../kava-child.js';
import type { ScheduledRun } from '../schedule.js';
import { type RunContext, type RunOutcome, trainRun } from '../train-run.js';

/** What a call did. */
export interface ExecutionSummary {
  trained: string[];
  failed: { id: string; reason: string }[];
  /** Stopped by a signal before every run was done. */
  stopped: boolean;
}

/**
 * Trains `scheduled` with at most `jobs` at a time. A free worker takes the first run whose
 * starting point is ready, so it does not sit waiting on a backbone another worker is training
 * while other runs could go; a run whose starting point failed is failed too, without training.
 */
export async function runLocal(
  ctx: RunContext,
  scheduled: readonly ScheduledRun[],
  jobs: number,
  events: {
    onStart?: (run: PlannedRun) => void;
    onOutcome?: (run: PlannedRun, outcome: RunOutcome, index: number) => void;
  } = {},
): Promise<ExecutionSummary> {
  const summary: ExecutionSummary = { trained: [], failed: [], stopped: false };
  const outcomes = new Map<string, Promise<RunOutcome>>();
  const finish = new Map<string, (o: RunOutcome) => void>();
  for (const { run } of scheduled) outcomes.set(run.id, new Promise((done) => finish.set(run.id, done)));
  const settled = new Set<string>();
  const ready = (s: ScheduledRun) => !s.run.from || !outcomes.has(s.run.from) || settled.has(s.run.from);
  const queue = [...scheduled];
  let finished = 0;
  const task = async ({ run, needModel }: ScheduledRun): Promise<RunOutcome> => {
    const start = run.from ? outcomes.get(run.from) : undefined;
    if (start) {
      const before = await start;
      if (before.status !== 'done')
        return before.status === 'stopped' ? before : { status: 'failed', reason: `${run.from}, which it fine-tunes, failed` };
    }
    try {
      return await trainRun(ctx, run, needModel);
    } catch (err) {
      return { status: 'failed', reason: (err as Error).message };
    }
  };
  const worker = async () => {
    while (queue.length && !stopSignal()) {
      const i = Math.max(queue.findIndex(ready), 0);
      const item = queue.splice(i, 1)[0]!;
      events.onStart?.(item.run);
      const outcome = await task(item);
      settled.add(item.run.id);
      finish.get(item.run.id)!(outcome);
      if (outcome.status === 'done' && outcome.trained) summary.trained.push(item.run.id);
      if (outcome.status === 'failed') summary.failed.push({ id: item.run.id, reason: outcome.reason });
      events.onOutcome?.(item.run, outcome, ++finished);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  // Runs never taken (a stop) resolve as stopped, so nothing waits on them.
  for (const { run } of queue) finish.get(run.id)!({ status: 'stopped' });
  summary.stopped = stopSignal() !== null;
  return summary;
}
