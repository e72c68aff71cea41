import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KavaError } from '../errors.js';
import type { KavaConfig } from '../config/schema.js';
import type { ResolvedConfig } from '../assembly/load-config.js';
import type { StepMetrics } from '../plugin/hooks.js';
import type { EvalReport } from '../eval/evaluate.js';
import { writeTextAtomic } from '../model/atomic-write.js';
import { appendJsonLine, readJsonLines, readJsonObject } from '../io/json-file.js';
import { makeDir, withFile } from '../io/file-errors.js';
import {
  findCheckpoint,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
  tokenizerDir,
  type TrainingState,
} from './checkpoint.js';
import { evaluatedCount, heldOutExamples, loadRunData, type RunData } from './data.js';
import { DataCursor } from './data-cursor.js';
import { checkBatchSize, checkTraces } from './preflight.js';
import { portableConfig } from '../runs/load-run.js';
import { lockRunDir } from './run-lock.js';
import { checkFreshRunDir, claimRunDir, clearFailedStart } from './run-folder.js';
import { checkFrozenTeacher, runTokenizer } from './model-setup.js';
import { configChanges, formatChanges, latestRunSettings, recordResume, scheduleChange } from './resume.js';
import { RunLoggers } from './run-loggers.js';
import { evaluateRunAt, type RunEvaluationContext } from './run-evaluation.js';
import { evaluationPlan, evaluationSteps, teacherWarmupPlan } from './schedule.js';
import { createTrainingSession, type StepOutcome, type TrainingSession } from './session.js';

/** What `train` runs: the resolved config, where, whether it resumes, and what it reports to. */
export interface TrainOptions {
  resolved: ResolvedConfig;
  /** Run directory; default `<train.out>/<date>-<method>`. With `resume`, the resumed run's folder. */
  runDir?: string;
  /** A run directory or checkpoint folder to continue from. */
  resume?: string;
  /** Called after every optimiser step (progress display). */
  onStep?: (metrics: StepMetrics) => void;
  /** Called with one-line messages (data, model, checkpoints, evaluation). */
  log?: (line: string) => void;
  /** Aborting saves a checkpoint after the current step and returns (Ctrl-C). */
  signal?: AbortSignal;
  /** Called after each evaluation batch with the questions done and the total (progress display). */
  onEvalProgress?: (done: number, total: number, pass?: string) => void;
  /** Skip the final held-out evaluation. */
  skipFinalEval?: boolean;
  /** The run's data when the caller has read it already (for its memory estimate); else read here. */
  data?: RunData;
}

/** What a call of `train` did: the run folder, steps, last losses, checkpoint and final evaluation. */
export interface TrainResult {
  runDir: string;
  steps: number;
  /** Steps trained by this call (0 when a resume found the run finished). */
  trainedSteps: number;
  totalSteps: number;
  interrupted: boolean;
  /** Losses of the last step. */
  losses: Record<string, number>;
  checkpoint: string;
  evaluation: EvalReport | null;
  wallSeconds: number;
  /** Median tokens/s over the steps of this session. */
  tokensPerSecond: number;
}

/** The step a final evaluation report (eval/final.json) was taken at, or null when there is none. */
function evaluatedAt(file: string): number | null {
  if (!existsSync(file)) return null;
  const step = readJsonObject(file).step;
  return typeof step === 'number' ? step : null;
}

const median = (xs: number[]) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const ordinal = (n: number) =>
  `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;

/** The error that ends a run after too many non-finite steps in a row: the step, the losses, where to go back to. */
function nonFiniteStop(
  step: number,
  problem: string,
  inARow: number,
  limit: number,
  losses: Record<string, number>,
  { lastCheckpoint }: { lastCheckpoint: string },
  runDir: string,
  lr: number,
): KavaError {
  return new KavaError(
    `step ${step}: ${problem}, the ${ordinal(inARow)} non-finite step in a row (train.maxNonFiniteSkips is ${limit}); training stopped. ` +
      `Losses: ${Object.entries(losses)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}. ` +
      (lastCheckpoint
        ? `The last checkpoint (finite weights) is ${lastCheckpoint}; continue from it with a lower learning rate: ` +
          `kava train --resume ${runDir} --set train.lr=${(lr / 10).toPrecision(2)} (or a lower train.clip).`
        : 'No checkpoint was saved (train.checkpointEvery is 0); train again with a lower train.lr or train.clip.'),
  );
}

/**
 * Keeps the rows of an append-only log (metrics.jsonl, eval.jsonl) up to `step`. A torn last line,
 * what a crash in the middle of an append leaves, is dropped with a warning; any other bad line
 * is an error naming file:line.
 */
function trimLog(file: string, step: number, log: (line: string) => void): void {
  if (!existsSync(file)) return;
  const onTornLine = (line: number, text: string) =>
    log(`warning: ${file}:${line}: dropped a torn last line (a crash while it was written): ${text.slice(0, 60)}`);
  const kept = readJsonLines<{ step: number }>(file, { onTornLine }).filter((row) => row.step <= step);
  writeTextAtomic(file, kept.map((row) => `${JSON.stringify(row)}\n`).join(''));
}

/** A timestamped default run folder name. */
function defaultRunName(config: KavaConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${config.backbone.preset}-${config.method}`;
}

/** The run folder a training writes: --run-dir, the resumed run's own, or a new one under train.out. */
function runFolder(options: TrainOptions): { runDir: string; created: boolean } {
  const { resolved } = options;
  if (options.runDir) {
    const runDir = resolve(options.runDir);
    const created = !existsSync(runDir);
    makeDir(runDir);
    return { runDir, created };
  }
  if (options.resume && !existsSync(join(options.resume, 'state.json')))
    return { runDir: resolve(options.resume), created: false };
  const base = resolve(resolved.baseDir, resolved.config.train.out);
  return { runDir: claimRunDir(base, defaultRunName(resolved.config)), created: true };
}

/** Resuming a checkpoint into a folder that holds another run would overwrite that run. */
function checkResumeTarget(resumeDir: string, options: TrainOptions): void {
  if (!options.runDir) return;
  const own = resolve(dirname(dirname(resumeDir)));
  const target = resolve(options.runDir);
  if (own !== target && existsSync(join(target, 'config.json')))
    throw new KavaError(
      `--run-dir ${target} already holds another run; --resume ${options.resume} continues the run in ${own}: leave --run-dir out to continue it there, or name an empty folder to continue it into`,
      { exitCode: 2 },
    );
}

/** What the run trains on and evaluates, and what it lacks, in a few lines. */
function logData(config: KavaConfig, data: RunData, heldOut: readonly unknown[], log: (line: string) => void): void {
  log(
    `loaded ${data.train.length} training examples, ${heldOut.length} held-out${config.eval.split === 'validation' ? ' (the validation split)' : ''}, from ${data.source}${data.skipped ? ` (${data.skipped} malformed records skipped)` : ''}`,
  );
  const traceWarning = checkTraces(config, data);
  if (traceWarning) log(traceWarning);
  const batchNote = checkBatchSize(config, data.train.length);
  if (batchNote) log(batchNote);
  if (heldOut.length === 0)
    log(
      'note: no held-out data (data.test is not set): no evaluation during or after training; evaluate later with kava eval --run RUN --data FILE',
    );
}

/**
 * Continues a run from `resumeDir`: weights, optimizer and data position from the checkpoint, the
 * logs trimmed to it, what this resume changes said and recorded beside the run's own config.json.
 * Returns the step, or `finished` when the run has nothing left to do.
 */
function resumeRun(
  resumeDir: string,
  runDir: string,
  session: TrainingSession,
  cursor: DataCursor,
  options: TrainOptions,
  done: (step: number) => boolean,
  log: (line: string) => void,
): { step: number; finished: boolean } {
  const { config, baseDir } = options.resolved;
  const { totalSteps } = session;
  const state = loadCheckpoint(resumeDir, session.model.params, session.optimizer);
  const step = state.step;
  cursor.seek(state.data);
  // Keep the metrics and evaluations of the steps the checkpoint covers, so the curves continue
  // without a seam (and the next append does not land on a torn line).
  for (const file of ['metrics.jsonl', 'eval.jsonl']) trimLog(join(runDir, file), step, log);
  log(`resumed from ${resumeDir} at step ${step}`);
  // Changes are told against the settings the run last trained with (its resumes included).
  const savedRun = [runDir, dirname(dirname(resumeDir))].find((dir) => existsSync(join(dir, 'config.json')));
  const changes = savedRun ? configChanges(latestRunSettings(savedRun), portableConfig(config, baseDir)) : [];
  log(changes.length ? `resume changes: ${formatChanges(changes)}` : "resume: the run's own settings, nothing changed");
  if (totalSteps < step)
    throw new KavaError(
      `the run is at step ${step} already, past the ${totalSteps} steps asked for; give --steps more than ${step} to train further, or evaluate it with kava eval --run ${runDir}`,
      { exitCode: 2 },
    );
  if (done(step)) {
    // A finished run: nothing is trained, saved, evaluated or recorded again.
    const evaluated = existsSync(join(runDir, 'eval', 'final.json'));
    log(
      `the run finished all ${totalSteps} steps${evaluated ? ' and its final evaluation' : ''}; nothing to do (give --steps more than ${step} to train further; kava eval --run evaluates it again)`,
    );
    return { step, finished: true };
  }
  for (const line of scheduleChange(step, state.totalSteps, totalSteps, config.train)) log(line);
  recordResume(runDir, { step, checkpoint: resumeDir, changes });
  return { step, finished: false };
}

/** The metrics.jsonl row of an applied step (the loggers and the progress display get the same numbers). */
function stepRecord(
  outcome: Extract<StepOutcome, { status: 'applied' }>,
  step: number,
  totalSteps: number,
  timing: { seconds: number; cpu: NodeJS.CpuUsage; epoch: number },
) {
  const metrics: StepMetrics = {
    step,
    totalSteps,
    losses: outcome.losses,
    lr: outcome.lr,
    gradNorm: outcome.gradNorm,
    tokensPerSecond: outcome.tokens / timing.seconds,
  };
  return {
    metrics,
    record: {
      ...metrics,
      // Whether clipping scaled this step's gradient (the report gives the fraction of steps).
      clipped: outcome.clipped,
      ...(outcome.termGradNorms ? { termGradNorms: outcome.termGradNorms } : {}),
      seconds: timing.seconds,
      // CPU time of the step (all threads): on a busy machine, what it would take alone.
      cpuSeconds: (timing.cpu.user + timing.cpu.system) / 1e6,
      epoch: timing.epoch,
      // The process's peak resident memory so far (MiB): what --dry-run's estimate is checked against.
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    },
  };
}

/** What a training run's step loop shares with its setup and its end. */
interface RunContext {
  options: TrainOptions;
  session: TrainingSession;
  cursor: DataCursor;
  runDir: string;
  loggers: RunLoggers;
  evaluation: RunEvaluationContext;
  evalSteps: Set<number>;
  log: (line: string) => void;
}

/** Where a run stands: its step, its last checkpoint, and what this call trained. */
interface RunState {
  step: number;
  /** The step the last checkpoint holds (-1: none yet); the end saves only when it trained since. */
  savedStep: number;
  lastCheckpoint: string;
  interrupted: boolean;
  /** Tokens/s of each step this call trained. */
  speeds: number[];
  losses: Record<string, number>;
}

/** Saves a checkpoint of the run's state and tells the `checkpoint` hook. */
async function saveRunCheckpoint(run: RunContext, state: RunState): Promise<void> {
  const { session, cursor, runDir } = run;
  const { model, optimizer } = session;
  const training: TrainingState = {
    step: state.step,
    totalSteps: session.totalSteps,
    optimizerStep: optimizer.step,
    data: cursor.position,
    params: [...model.params].map(([name, v]) => ({ name, shape: v.shape })),
  };
  state.lastCheckpoint = await saveCheckpoint(runDir, training, model.params, optimizer, model.tokenizer);
  state.savedStep = state.step;
  await run.options.resolved.plugins.hooks.checkpoint.promise({ step: state.step, dir: state.lastCheckpoint });
}

/**
 * The step loop: steps until the run's end or a stop signal, each applied step recorded
 * (metrics.jsonl, loggers, hooks, progress), evaluated and checkpointed on schedule; non-finite
 * steps are passed over and too many in a row end the run.
 */
async function runSteps(run: RunContext, state: RunState): Promise<void> {
  const { session, cursor, options, log } = run;
  const { config, plugins } = options.resolved;
  const { signal } = options;
  const metricsFile = join(run.runDir, 'metrics.jsonl');
  let skippedInARow = 0;
  while (state.step < session.totalSteps) {
    const [t0, cpu0, stepStart] = [performance.now(), process.cpuUsage(), cursor.position];
    const outcome = await session.trainStep(state.step, (n) => cursor.take(n), signal ? { signal } : {});
    if (outcome.status === 'stopped') {
      cursor.seek(stepStart); // the checkpoint saved is the last whole step's
      state.interrupted = true;
      return;
    }
    if (outcome.status === 'skipped') {
      // Never applied (so never checkpointed): a run that keeps producing them stops while its checkpoints are good.
      const limit = config.train.maxNonFiniteSkips;
      const at = state.step + 1;
      if (++skippedInARow > limit)
        throw nonFiniteStop(
          at,
          outcome.problem,
          skippedInARow,
          limit,
          outcome.losses,
          state,
          run.runDir,
          config.train.lr,
        );
      log(`step ${at}: ${outcome.problem}; skipped, weights unchanged (${skippedInARow} in a row, at most ${limit})`);
    } else {
      skippedInARow = 0;
      const step = ++state.step;
      const timing = { seconds: (performance.now() - t0) / 1000, cpu: process.cpuUsage(cpu0), epoch: cursor.epoch };
      const { metrics, record } = stepRecord(outcome, step, session.totalSteps, timing);
      state.speeds.push(metrics.tokensPerSecond);
      state.losses = outcome.losses;
      appendJsonLine(metricsFile, record);
      run.loggers.step(record);
      plugins.hooks.step.call(metrics);
      options.onStep?.(metrics);
      if (run.evalSteps.has(step)) await evaluateUnlessStopped(run.evaluation, step, signal, log);
    }
    // A step is synchronous tensor work: yield so a Ctrl-C (SIGINT handler) or a timer can run.
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) {
      state.interrupted = true;
      return;
    }
    const every = config.train.checkpointEvery;
    const due = every > 0 && state.step % every === 0 && state.step < session.totalSteps;
    if (outcome.status === 'applied' && due) await saveRunCheckpoint(run, state);
  }
}

/**
 * A run's end: the last checkpoint (when it trained since), the final evaluation unless stopped
 * or skipped (a stop during it leaves the run interrupted, for a resume to evaluate), `runEnd`.
 */
async function finishRun(run: RunContext, state: RunState, started: number): Promise<TrainResult> {
  const { options, log, session, runDir } = run;
  if (state.savedStep !== state.step) {
    await saveRunCheckpoint(run, state);
    log(`${state.interrupted ? 'interrupted; ' : ''}checkpoint saved: ${state.lastCheckpoint}`);
  } else if (state.interrupted)
    log(`interrupted; the last checkpoint holds step ${state.step}: ${state.lastCheckpoint}`);
  let evaluation: EvalReport | null = null;
  if (!state.interrupted && !options.skipFinalEval) {
    try {
      evaluation = await evaluateRunAt(run.evaluation, state.step, 'final');
    } catch (error) {
      if (!options.signal?.aborted) throw error;
      log(`interrupted during the final evaluation; resume the run to evaluate it`);
      state.interrupted = true;
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const metrics = { ...state.losses, wallSeconds, ...(evaluation ? { accuracy: evaluation.accuracy } : {}) };
  const { config, plugins } = options.resolved;
  await plugins.hooks.runEnd.promise({ runDir, config, kind: 'train' }, { steps: state.step, metrics });
  return {
    ...{ runDir, steps: state.step, trainedSteps: state.speeds.length, totalSteps: session.totalSteps },
    ...{ interrupted: state.interrupted, losses: state.losses, checkpoint: state.lastCheckpoint, evaluation },
    ...{ wallSeconds, tokensPerSecond: median(state.speeds) },
  };
}

/** The session and the data of a run, and its evaluation schedule, set up before any folder exists. */
async function prepareTraining(options: TrainOptions, resumeDir: string | null, log: (line: string) => void) {
  const { resolved } = options;
  const { config } = resolved;
  // Data first: a file the method cannot train on is refused before a run folder exists.
  const data =
    options.data ?? (await loadRunData(config, resolved.plugins.registry, (p) => resolve(resolved.baseDir, p)));
  const heldOut = heldOutExamples(config, data);
  logData(config, data, heldOut, log);
  const savedDir = resumeDir ? { savedDir: tokenizerDir(resumeDir) } : {};
  const tokenizer = await runTokenizer(config, { ...savedDir, trainExamples: data.train });
  const session = createTrainingSession(config, resolved.plugins, tokenizer, data.train.length);
  const { totalSteps } = session;
  const warmupLine = teacherWarmupPlan(config.train.teacherWarmup, totalSteps, session.warmupTerms.length > 0);
  if (warmupLine) log(warmupLine);
  const evalQuestions = evaluatedCount(config, heldOut.length);
  const evalSteps = new Set(evaluationSteps(config.train.evalEvery, totalSteps, evalQuestions));
  if (evalQuestions > 0) log(evaluationPlan(config.train.evalEvery, totalSteps, evalQuestions));
  return { data, heldOut, session, evalQuestions, evalSteps };
}

/** The run folder, locked for this training (one at a time per folder); the session is released if that fails. */
function openRunFolder(options: TrainOptions, session: TrainingSession, log: (line: string) => void) {
  try {
    const folder = runFolder(options);
    return { ...folder, lock: lockRunDir(folder.runDir, log) };
  } catch (error) {
    session.dispose();
    throw error;
  }
}

/**
 * Trains a model with the method of the resolved configuration (KAVA-METHOD.md §1–5): the run
 * around a TrainingSession's steps. Writes the run directory (config.json, metrics.jsonl,
 * checkpoints/, eval/), fires every lifecycle hook, skips steps whose loss or gradient is not
 * finite (stopping after train.maxNonFiniteSkips in a row, the checkpoints all good), evaluates
 * on schedule and at the end, and saves a checkpoint when aborted.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { resolved } = options;
  const { config } = resolved;
  const { registry, hooks } = resolved.plugins;
  const log = options.log ?? (() => {});
  const started = performance.now();
  checkFrozenTeacher(config);
  const resumeDir = options.resume ? findCheckpoint(resolve(options.resume)) : null;
  if (resumeDir) checkResumeTarget(resumeDir, options);
  const { data, heldOut, session, evalQuestions, evalSteps } = await prepareTraining(options, resumeDir, log);
  const cursor = new DataCursor(data.train, config.data.shuffleSeed);
  // The run folder is made only now, after data, tokenizer and model are set up: a run that fails
  // to start leaves no empty folder behind.
  const { runDir, created, lock } = openRunFolder(options, session, log);
  const state: RunState = { step: 0, savedStep: -1, lastCheckpoint: '', interrupted: false, speeds: [], losses: {} };
  let ownsFolder = false; // set once the folder holds no other run: only then may a failed start clean up
  let failedStart = false;
  let loggers: RunLoggers | null = null;
  const metricsFile = join(runDir, 'metrics.jsonl');
  const finalReport = join(runDir, 'eval', 'final.json');
  try {
    if (!resumeDir && checkFreshRunDir(runDir, runDir) === 'failed-start') {
      clearFailedStart(runDir);
      log(`${runDir}: removed the files of an earlier start that failed before its first step and checkpoint`);
    }
    ownsFolder = !resumeDir;
    for (const stale of removeStaleTemporaries(runDir))
      log(`removed ${stale}, left by a run that stopped while saving`);
    if (resumeDir) {
      const finished = (at: number) =>
        at === session.totalSteps &&
        (heldOut.length === 0 || !!options.skipFinalEval || evaluatedAt(finalReport) === at);
      const resumed = resumeRun(resumeDir, runDir, session, cursor, options, finished, log);
      Object.assign(state, { step: resumed.step, savedStep: resumed.step, lastCheckpoint: resumeDir });
      if (resumed.finished) {
        const report = existsSync(finalReport) ? (readJsonObject(finalReport) as unknown as EvalReport) : null;
        return finishedResult(runDir, state.step, session.totalSteps, resumeDir, report);
      }
    } else withFile(metricsFile, 'write', () => writeFileSync(metricsFile, ''));
    const configFile = join(runDir, 'config.json');
    if (!resumeDir || !existsSync(configFile))
      writeTextAtomic(configFile, `${JSON.stringify(portableConfig(config, resolved.baseDir), null, 2)}\n`);
    loggers = new RunLoggers(registry, config, runDir, state.step, log);
    if (loggers.names.length) log(`metrics also go to: ${loggers.names.join(', ')} (config loggers)`);
    const evaluation: RunEvaluationContext = {
      ...{ model: session.model, heldOut, config, registry, hooks, runDir, questions: evalQuestions, log },
      loggers: () => loggers,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvalProgress ? { onProgress: options.onEvalProgress } : {}),
    };
    const run: RunContext = { options, session, cursor, runDir, loggers, evaluation, evalSteps, log };
    await hooks.runStart.promise({ runDir, config, kind: 'train' });
    if (!resumeDir && config.train.checkpointEvery > 0) await saveRunCheckpoint(run, state); // a good state to fall back to
    await runSteps(run, state);
    return await finishRun(run, state, started);
  } catch (error) {
    // A new run that fails before its first step and checkpoint (a full disk, a crash in the
    // first micro-batch) leaves nothing behind that would block its retry.
    failedStart = ownsFolder && state.step === 0 && state.savedStep < 0;
    throw error;
  } finally {
    await loggers?.close();
    session.dispose();
    lock.release();
    if (failedStart) {
      if (created) rmSync(runDir, { recursive: true, force: true });
      else clearFailedStart(runDir);
    }
  }
}

/** What train() returns for a resumed run that had nothing left to do. */
function finishedResult(
  runDir: string,
  step: number,
  totalSteps: number,
  checkpoint: string,
  evaluation: EvalReport | null,
): TrainResult {
  const nothing = { trainedSteps: 0, interrupted: false, losses: {}, wallSeconds: 0, tokensPerSecond: 0 };
  return { runDir, steps: step, totalSteps, checkpoint, evaluation, ...nothing };
}

/** A scheduled evaluation; a stop signal during it leaves it unrecorded instead of failing the run. */
async function evaluateUnlessStopped(
  ctx: RunEvaluationContext,
  step: number,
  signal: AbortSignal | undefined,
  log: (line: string) => void,
): Promise<void> {
  try {
    await evaluateRunAt(ctx, step, `step-${step}`);
  } catch (error) {
    if (!signal?.aborted) throw error;
    log(`stopped during the evaluation at step ${step}; it is not recorded`);
  }
}
