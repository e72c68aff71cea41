// @kava/experiments: comparison grids of KaVa trainings. A grid file names the stages, methods,
// seeds and trace styles; `planRuns` expands it, `schedule` picks what is missing, an executor
// (local or Slurm) trains it, each run's record lands in the results store, and `makeReport`
// compares the methods with seed-aware intervals. The `kava experiment` command is its face.
export { gridFrom, gridSchema, loadGrid, REPORT_KINDS, type Grid, type Stage } from './grid-file.js';
export { modelFolder, planRuns, type PlannedRun, runFolder } from './plan.js';
export { type Gradients, type LatentUsage, ResultsStore, type RunRecord, type TermGradNorm } from './store.js';
export { claimRunFolder, type EvalRow, finishedRun, type FinishedRun, hasCheckpoint, progressOf } from './run-folder.js';
export { blasSettings, childEnvFor, forwardStopSignals, type KavaCommand, runKava, stopSignal } from './kava-child.js';
export { gradientsOf, hasModel, type RunContext, type RunOutcome, trainRun } from './train-run.js';
export { schedule, type ScheduledRun } from './schedule.js';
export { type ExecutionSummary, runLocal } from './executors/local.js';
export {
  cancelSlurm,
  jobName,
  queuedTasks,
  settingsHash,
  type SlurmOptions,
  type SlurmSubmission,
  type SlurmTask,
  submissions,
  submitSlurm,
} from './executors/slurm.js';
export { gridStatus, type RunStatus } from './status.js';
export { type GridReport, makeReport, type MethodRow, reportMarkdown, writeReport } from './report.js';
export {
  type BootstrapOptions,
  type Interval,
  mean,
  median,
  pairedBootstrap,
  seedQuestionBootstrap,
  std,
} from './stats.js';
export {
  chooseRecipes,
  compare,
  type Comparison,
  foldInto,
  isLatent,
  type MethodCell,
  methodBars,
  methodTable,
  otherBuilds,
  type PageInput,
  readResults,
  type RenderSvg,
  replicationPageName,
  writeGridPage,
  writeReplicationPage,
  writeResultsJson,
  writeStudyPage,
} from './pages/index.js';
