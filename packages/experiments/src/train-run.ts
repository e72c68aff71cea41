// One run of a grid, start to record: train it (or resume it from its last checkpoint), export
// its model when a later stage starts from it, and write its record. Both executors call this:
// the local one in a pool, Slurm's array tasks one run each (`kava experiment task`).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { lockRunDir, type RunLock } from '@kava/core/app';
import type { Grid } from './grid-file.js';
import { blasSettings, childEnvFor, type KavaCommand, runKava, stopSignal } from './kava-child.js';
import { modelFolder, type PlannedRun, runFolder } from './plan.js';
import { claimRunFolder, type FinishedRun, finishedRun, hasCheckpoint } from './run-folder.js';
import { median } from './stats.js';
import type { Gradients, LatentUsage, ResultsStore, RunRecord } from './store.js';

/** What a run needs from the program that runs it. */
export interface RunContext {
  grid: Grid;
  store: ResultsStore;
  /** How to start `kava` (the cli passes itself). */
  kava: KavaCommand;
  /** The kava version, kept in each record. */
  version: string;
  /** A line of progress (the executor prefixes it). */
  log: (line: string) => void;
}

/** How a run ended. */
export type RunOutcome =
  /** `file`: the record this call wrote (none when the record was there before). */
  | { status: 'done'; record: RunRecord; trained: boolean; file?: string }
  | { status: 'failed'; reason: string }
  | { status: 'stopped' };

/**
 * Whether run `id` has exported its model, trained with `settings`: a folder left by other
 * settings (the grid was changed, then changed back) holds another model than the record's.
 */
export function hasModel(grid: Grid, id: string, settings: string): boolean {
  const file = join(runFolder(grid, id), 'settings.txt');
  return (
    existsSync(join(modelFolder(grid, id), 'config.json')) && existsSync(file) && readFileSync(file, 'utf8') === settings
  );
}

/**
 * Trains `run` unless its record exists with the same settings (and, with `needModel`, its model
 * is on disk: a fresh clone has the records of a grid's first stage but not its models, so a
 * missing later run trains the backbone again; its committed record stays as it is).
 */
export async function trainRun(ctx: RunContext, run: PlannedRun, needModel = false): Promise<RunOutcome> {
  const known = ctx.store.current(run.id, run.settings);
  if (known && (!needModel || hasModel(ctx.grid, run.id, run.settings)))
    return { status: 'done', record: known, trained: false };
  // One process per run at a time: two `kava experiment run` calls on one grid, or a local call
  // beside Slurm's tasks, must not start, resume or move aside a run the other is training.
  let lock: RunLock;
  try {
    lock = lockRunDir(join(ctx.grid.runs, '.locks', run.id));
  } catch (err) {
    return { status: 'failed', reason: (err as Error).message };
  }
  try {
    return await trainLocked(ctx, run, needModel);
  } finally {
    lock.release();
  }
}

async function trainLocked(ctx: RunContext, run: PlannedRun, needModel: boolean): Promise<RunOutcome> {
  const { grid, store } = ctx;
  // Read again under the lock: another process may have finished it meanwhile.
  const known = store.current(run.id, run.settings);
  if (known && (!needModel || hasModel(grid, run.id, run.settings)))
    return { status: 'done', record: known, trained: false };
  if (run.from && !hasModel(grid, run.from, run.fromSettings!))
    return {
      status: 'failed',
      reason: `the model of ${run.from}, which it fine-tunes, is not in ${modelFolder(grid, run.from)} (or was trained with other settings)`,
    };
  const dir = runFolder(grid, run.id);
  const aside = claimRunFolder(dir, run.settings);
  if (aside) ctx.log(`${run.id}: its folder was trained with other settings; moved to ${aside}`);
  const runDir = join(dir, 'run');
  let outcome = finishedRun(runDir);
  if (!outcome) {
    const config = run.from ? { ...run.config, backbone: { ...(run.config.backbone ?? {}), modelDir: modelFolder(grid, run.from) } } : run.config;
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const resume = hasCheckpoint(runDir);
    if (!resume) rmSync(runDir, { recursive: true, force: true }); // a start that saved nothing
    ctx.log(`${run.id}: ${resume ? 'resuming from its last checkpoint' : 'training'} (log: ${join(dir, 'train.log')})`);
    // A resumed run continues with its own saved settings (kava refuses --config with --resume).
    const argv = resume
      ? ['train', '--resume', runDir]
      : ['train', '-p', run.presets.join(','), '-c', configFile, '--run-dir', runDir];
    const code = await runKava(ctx.kava, argv, join(dir, 'train.log'), dir);
    if (stopSignal()) return { status: 'stopped' };
    if (code !== 0) return { status: 'failed', reason: `kava train exited with ${code}, see ${join(dir, 'train.log')}` };
    outcome = finishedRun(runDir);
    if (!outcome) return { status: 'failed', reason: `kava train finished but left no final evaluation in ${runDir}` };
  }
  if (run.exported && !hasModel(grid, run.id, run.settings)) {
    const log = join(dir, 'export.log');
    const code = await runKava(ctx.kava, ['export', runDir, '--out', modelFolder(grid, run.id), '--merged', '--force'], log, dir);
    if (stopSignal()) return { status: 'stopped' };
    if (code !== 0) return { status: 'failed', reason: `kava export exited with ${code}, see ${log}` };
  }
  if (known) {
    // A rebuild of a run whose record exists (another CPU may round differently): say how close
    // it came, and whether its weights are the recorded build's (the runs fine-tuned from it
    // record the build they started from, so a report can tell them apart).
    const same = perQuestionOf(outcome) === known.perQuestion;
    const build =
      run.exported && known.sha256
        ? weightsHash(modelFolder(grid, run.id)) === known.sha256
          ? '; the same weights, bit for bit'
          : '; other weights than the recorded build (other BLAS kernels or threads?): the runs fine-tuned from it name this build in their backbone.sha256'
        : '';
    ctx.log(
      `${run.id}: rebuilt, ${pct(outcome.result.accuracy)} % against the record's ${pct(known.accuracy)} %${same ? ', the same answers question for question' : ''}${build}`,
    );
    return { status: 'done', record: known, trained: true };
  }
  const record = recordOf(ctx, run, outcome);
  const file = store.write(record);
  return { status: 'done', record, trained: true, file };
}

const pct = (x: number) => (x * 100).toFixed(1);

function recordOf(ctx: RunContext, run: PlannedRun, outcome: FinishedRun): RunRecord {
  const r = outcome.result;
  const from = run.from ? ctx.store.read(run.from) : null;
  return {
    experiment: ctx.grid.name,
    id: run.id,
    stage: run.stage,
    method: run.method,
    traces: run.trace,
    seed: run.seed,
    ...(run.from
      ? { backbone: { teacherAccuracy: from?.accuracy ?? Number.NaN, sha256: weightsHash(modelFolder(ctx.grid, run.from)) } }
      : {}),
    ...(run.exported ? { sha256: weightsHash(modelFolder(ctx.grid, run.id)) } : {}),
    accuracy: r.accuracy,
    correct: r.correct,
    questions: r.questions,
    ...(typeof r.mode === 'string' ? { mode: r.mode } : {}),
    ...(typeof r.forwardPassesPerQuestion === 'number' ? { forwardPassesPerQuestion: r.forwardPassesPerQuestion } : {}),
    ...(typeof r.kvEntriesPerQuestion === 'number' ? { kvEntriesPerQuestion: r.kvEntriesPerQuestion } : {}),
    ...latentUsageOf(outcome),
    ...gradientsOf(outcome.runDir),
    trainSeconds: Math.round(outcome.seconds),
    curve: outcome.curve,
    perQuestion: perQuestionOf(outcome),
    code: { kava: ctx.version, commit: commitOf(ctx.grid), blas: blasSettings(childEnvFor(process.env)) },
    settings: run.settings,
  };
}

/** Per question, in order: "1" correct, "0" wrong. */
function perQuestionOf(outcome: FinishedRun, file: string = outcome.result.predictionsFile): string {
  // The predictions sit in the run's eval folder; the row names them by the path of the time.
  const path = join(outcome.runDir, 'eval', basename(file));
  return readFileSync(existsSync(path) ? path : file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => ((JSON.parse(l) as { correct?: boolean }).correct ? '1' : '0'))
    .join('');
}

function latentUsageOf(outcome: FinishedRun): LatentUsage {
  const r = outcome.result;
  if (r.accuracyLatentsShuffled === undefined || !r.latentUsagePredictions) return {};
  return {
    accuracyLatentsShuffled: r.accuracyLatentsShuffled as number,
    accuracyLatentsPlaceholder: r.accuracyLatentsPlaceholder as number,
    perQuestionLatentsShuffled: perQuestionOf(outcome, r.latentUsagePredictions.shuffled),
    perQuestionLatentsPlaceholder: perQuestionOf(outcome, r.latentUsagePredictions.placeholder),
  };
}

/**
 * The step's gradients over the run, where its metrics hold them: the fraction of steps whose
 * gradient was clipped, and (with train.gradNormEvery) each loss term's gradient norm alone, as its
 * median over the first and the second half of the measured steps (`step`: the whole gradient).
 */
export function gradientsOf(runDir: string): Gradients {
  const file = join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return {};
  type Row = { clipped?: boolean; gradNorm?: number; termGradNorms?: Record<string, number> };
  const rows: Row[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      rows.push(JSON.parse(line) as Row);
    } catch {
      // a line torn by a crash: the others still count
    }
  }
  const known = rows.filter((m) => m.clipped !== undefined);
  const measured = rows.filter((m) => m.termGradNorms);
  const half = Math.ceil(measured.length / 2);
  const terms = [...new Set(measured.flatMap((m) => Object.keys(m.termGradNorms!)))];
  const medianOf = (rs: Row[], pick: (m: Row) => number | undefined) => {
    const xs = rs.map(pick).filter((v): v is number => v !== undefined);
    return xs.length ? Number(median(xs).toPrecision(4)) : null;
  };
  return {
    ...(known.length ? { clipFraction: known.filter((m) => m.clipped).length / known.length } : {}),
    ...(measured.length
      ? {
          termGradNorms: Object.fromEntries(
            [...terms, 'step'].map((t) => {
              const pick = (m: Row) => (t === 'step' ? m.gradNorm : m.termGradNorms![t]);
              return [t, { firstHalf: medianOf(measured.slice(0, half), pick), secondHalf: medianOf(measured.slice(half), pick) }];
            }),
          ),
        }
      : {}),
  };
}

/** The git commit of the grid file's checkout (the code the runs trained with), or null outside one. */
function commitOf(grid: Grid): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dirname(grid.file), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The sha256 of a model folder's weight files: which build of a backbone a run started from. */
function weightsHash(modelDir: string): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(modelDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort())
    hash.update(readFileSync(join(modelDir, f)));
  return hash.digest('hex');
}
