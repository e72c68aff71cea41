// Which runs a call has to train: those without a record of their settings, and the runs they
// fine-tune whose model is not on disk (a fresh clone has a grid's records, not its models).
import type { Grid } from './grid-file.js';
import type { PlannedRun } from './plan.js';
import type { ResultsStore } from './store.js';
import { hasModel } from './train-run.js';

/** A run to train, and whether a later run needs its exported model. */
export interface ScheduledRun {
  run: PlannedRun;
  needModel: boolean;
}

/**
 * The runs to train, each after the run it fine-tunes; `only` picks a slice of the grid (the runs
 * the slice fine-tunes are still trained when their model is missing).
 */
export function schedule(
  grid: Grid,
  store: ResultsStore,
  runs: readonly PlannedRun[],
  only: (run: PlannedRun) => boolean = () => true,
): ScheduledRun[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const chosen = new Map<string, boolean>(); // id -> needModel
  const need = (run: PlannedRun, needModel: boolean) => {
    chosen.set(run.id, (chosen.get(run.id) ?? false) || needModel);
    // The run it starts from trains again only when its model is gone.
    if (run.from && !hasModel(grid, run.from, run.fromSettings!)) need(byId.get(run.from)!, true);
  };
  for (const run of runs) if (only(run) && !store.current(run.id, run.settings)) need(run, false);
  return runs.filter((r) => chosen.has(r.id)).map((run) => ({ run, needModel: chosen.get(run.id)! }));
}
