import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tf } from '../tf.js';
import { ConfigError, KavaError } from '../errors.js';
import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import type { ResolvedConfig } from '../config/load.js';
import type { StepMetrics } from '../plugin/hooks.js';
import type { Registry } from '../plugin/registry.js';
import { createCompression } from '../compression/compress.js';
import { windowQueryCount } from '../compression/scorer-input.js';
import { shuffle } from '../data/select.js';
import type { EvalReport } from '../eval/evaluate.js';
import { writeTextAtomic } from '../model/atomic-write.js';
import { appendJsonLine, readJsonLines, readJsonObject } from '../io/json-file.js';
import { AdamW } from './adamw.js';
import { buildBatch, type BatchPlan } from './batch.js';
import {
  findCheckpoint,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
  tokenizerDir,
  type TrainingState,
} from './checkpoint.js';
import { clipByGlobalNorm } from './clip.js';
import { encodeOptions, evaluatedCount, heldOutExamples, loadRunData, type RunData } from './data.js';
import { checkBatchSize, checkTraces, methodTrainsLatents } from './preflight.js';
import { portableConfig } from './load-run.js';
import { evaluateModel } from './evaluate-run.js';
import { TermGradients } from './term-gradients.js';
import { lockRunDir } from './run-lock.js';
import { checkFreshRunDir, claimRunDir, clearFailedStart } from './run-folder.js';
import { makeDir, withFile } from '../io/file-errors.js';
import { checkFrozenTeacher, runTokenizer, setupFrozenTeacher, setupModel, type KavaModel } from './model-setup.js';
import { configChanges, formatChanges, latestRunSettings, recordResume, scheduleChange } from './resume.js';
import { Rng } from '../util/rng.js';
import { RunLoggers } from './run-loggers.js';
import { cosineWithWarmup, evaluationPlan, evaluationSteps, teacherWarmupPlan } from './schedule.js';
import { forwardLosses, type StepParts, type WeightedTerm } from './step.js';

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

/** The optimiser steps of a run: train.steps, or train.epochs over `trainExamples` in batches of train.batchSize. */
export function plannedSteps(config: KavaConfig, trainExamples: number): number {
  const { steps, epochs, batchSize } = config.train;
  return steps ?? Math.max(1, Math.ceil((epochs * trainExamples) / batchSize));
}

/** The step a final evaluation report (eval/final.json) was taken at, or null when there is none. */
function evaluatedAt(file: string): number | null {
  if (!existsSync(file)) return null;
  const step = readJsonObject(file).step;
  return typeof step === 'number' ? step : null;
}

/** Loss terms with a weight > 0, built from their registrations. */
export function activeTerms(config: KavaConfig, registry: Registry): WeightedTerm[] {
  const terms: WeightedTerm[] = [];
  for (const [name, entry] of Object.entries(config.losses)) {
    if (entry.weight <= 0) continue;
    // A frozen teacher is not trained: its own CE would only add a constant to the total.
    if (name === 'teacher-ce' && config.train.teacher === 'frozen') continue;
    const { weight, warmup, ...options } = entry;
    const loss = registry.get('loss', name, `losses.${name}`);
    // resolveConfig parsed the options already: a loss that can take them parsed is not re-parsed.
    terms.push({
      name,
      weight,
      ...(warmup ? { warmup } : {}),
      term: loss.build ? loss.build(options) : loss.create(options),
    });
  }
  if (terms.length === 0) throw new ConfigError('losses: every loss weight is 0; nothing to train');
  return terms;
}

/**
 * Which passes the method and its loss terms need; a term the method cannot feed is a config error.
 * `window`: α from `windowQueryCount(scorer)`, used when the scorer needs window queries.
 */
export function planFor(
  config: KavaConfig,
  terms: readonly WeightedTerm[],
  scorerNeeds: readonly string[] = [],
  window = 0,
): BatchPlan {
  const latentMethod = methodTrainsLatents(config.method);
  const needs = (part: string) => terms.some((t) => t.term.needs.includes(part as never));
  if (!latentMethod) {
    const bad = terms.find((t) => t.term.needs.includes('student') || t.term.needs.includes('compressed'));
    if (bad)
      throw new ConfigError(
        `losses.${bad.name}: needs the latent student, which method "${config.method}" does not train (set its weight to 0 or use --preset ${config.method})`,
      );
  }
  const compress = needs('compressed');
  return {
    teacher: config.method === 'no-cot' ? 'direct' : needs('teacher') || compress ? 'trace' : null,
    student: latentMethod && needs('student'),
    latents: config.latent.count,
    finalLatents: config.latent.mode === 'jacobi' ? config.latent.count : 1,
    answerQueries: compress && scorerNeeds.includes('answerQueries'),
    window: compress && scorerNeeds.includes('windowQueries') ? window : 0,
  };
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
  lastCheckpoint: string,
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

/** The run's examples in training order: epoch e is the training set shuffled with seed data.shuffleSeed + e. */
class DataCursor {
  private order: Example[];
  constructor(
    private readonly examples: readonly Example[],
    private readonly seed: number,
    public epoch: number,
    public index: number,
  ) {
    this.order = shuffle(examples, seed + epoch);
  }
  take(n: number): Example[] {
    const out: Example[] = [];
    while (out.length < n) {
      if (this.index >= this.order.length) {
        this.epoch++;
        this.index = 0;
        this.order = shuffle(this.examples, this.seed + this.epoch);
      }
      out.push(this.order[this.index++]!);
    }
    return out;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Trains a model with the method of the resolved configuration (KAVA-METHOD.md §1–5): per step,
 * micro-batches of teacher forward → compression → student rollout → losses, accumulated to the
 * effective batch, clipped, and applied with AdamW on a warm-up + cosine schedule. Writes the run
 * directory (config.json, metrics.jsonl, checkpoints/, eval/), fires every lifecycle hook, skips
 * steps whose loss or gradient is not finite (stopping after train.maxNonFiniteSkips in a row, the
 * checkpoints all good), and saves a checkpoint when aborted.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { resolved } = options;
  const config = resolved.config;
  const { registry, hooks } = resolved.plugins;
  const log = options.log ?? (() => {});
  const started = performance.now();

  checkFrozenTeacher(config);
  const resumeDir = options.resume ? findCheckpoint(resolve(options.resume)) : null;
  // Resuming a checkpoint into a folder that holds another run would overwrite that run.
  if (resumeDir && options.runDir) {
    const own = resolve(dirname(dirname(resumeDir)));
    const target = resolve(options.runDir);
    if (own !== target && existsSync(join(target, 'config.json')))
      throw new KavaError(
        `--run-dir ${target} already holds another run; --resume ${options.resume} continues the run in ${own}: leave --run-dir out to continue it there, or name an empty folder to continue it into`,
        { exitCode: 2 },
      );
  }

  // Data first: a file the method cannot train on is refused before a run folder exists.
  const data: RunData = options.data ?? (await loadRunData(config, registry, (p) => resolve(resolved.baseDir, p)));
  const heldOut = heldOutExamples(config, data);
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
  const tokenizer = await runTokenizer(config, {
    ...(resumeDir ? { savedDir: tokenizerDir(resumeDir) } : {}),
    trainExamples: data.train,
  });
  const model: KavaModel = setupModel(config, registry, tokenizer);
  const terms = activeTerms(config, registry);
  const compression = terms.some((t) => t.term.needs.includes('compressed'))
    ? createCompression(config.compression, registry)
    : null;
  if (compression && config.compression.rope === 'pre') {
    throw new ConfigError(
      'compression.rope: "pre" is not supported by the trainer yet (scorers see the post-RoPE keys the cache holds); use "post"',
    );
  }
  const plan = planFor(
    config,
    terms,
    compression?.scorer.needs ?? [],
    compression ? windowQueryCount(compression.scorer) : 0,
  );
  const frozenTeacher = config.train.teacher === 'frozen' ? setupFrozenTeacher(config, registry, model) : null;
  const parts: StepParts = {
    backbone: model.backbone,
    ...(frozenTeacher ? { teacher: frozenTeacher } : {}),
    latent: model.latent,
    compression,
    terms,
    hooks,
  };
  // Teacher warm-up: the first steps train only the written trace (no student, no compression).
  const warmupTerms = terms.filter((t) => t.name === 'teacher-ce');
  const warmupPlan: BatchPlan = {
    ...plan,
    teacher: plan.teacher ?? 'trace',
    student: false,
    answerQueries: false,
    window: 0,
  };
  const warmupParts: StepParts = { ...parts, compression: null, terms: warmupTerms };
  const encode = encodeOptions(config);

  const batchSize = config.train.batchSize;
  const micro = Math.min(config.train.microBatchSize, batchSize);
  const totalSteps = plannedSteps(config, data.train.length);
  const teacherWarmupSteps = Math.round(config.train.teacherWarmup * totalSteps);
  const warmupLine = teacherWarmupPlan(config.train.teacherWarmup, totalSteps, warmupTerms.length > 0);
  if (warmupLine) log(warmupLine);
  const evalQuestions = evaluatedCount(config, heldOut.length);
  const evalSteps = new Set(evaluationSteps(config.train.evalEvery, totalSteps, evalQuestions));
  if (evalQuestions > 0) log(evaluationPlan(config.train.evalEvery, totalSteps, evalQuestions));
  parts.schedule = { startStep: teacherWarmupSteps, totalSteps };
  const optimizer = new AdamW({ weightDecay: config.train.weightDecay });
  // Decay matrices only: norms, biases and other vectors are left alone, as is customary.
  const decay = (name: string) => (model.params.get(name)?.rank ?? 0) >= 2;
  // Micro-batch k of the run (k = step · microPerStep + its index in the step) draws its random
  // numbers from the k-th seed of train.seed's stream: a function of the seed and the position
  // alone, so a resumed run draws what the uninterrupted one does at the same step.
  const microPerStep = Math.ceil(batchSize / micro);
  const microSeed = (atStep: number, index: number) => Rng.seedAt(config.train.seed, atStep * microPerStep + index);
  let step = 0;
  let cursor = new DataCursor(data.train, config.data.shuffleSeed, 0, 0);
  const varList = [...model.params.values()];
  const termGradients = config.train.gradNormEvery > 0 ? new TermGradients(parts, varList) : null;
  const warmupTermGradients = config.train.gradNormEvery > 0 ? new TermGradients(warmupParts, varList) : null;
  // The run folder is made only now, after data, tokenizer and model are set up: a run that fails
  // to start leaves no empty folder behind.
  let runDir: string;
  let createdFolder = false;
  if (options.runDir) {
    runDir = resolve(options.runDir);
    createdFolder = !existsSync(runDir);
    makeDir(runDir);
  } else if (options.resume && !existsSync(join(options.resume, 'state.json'))) {
    runDir = resolve(options.resume);
  } else {
    runDir = claimRunDir(resolve(resolved.baseDir, config.train.out), defaultRunName(config));
    createdFolder = true;
  }
  // One training at a time per run folder (two would interleave their metrics and checkpoints).
  const lock = lockRunDir(runDir, log);
  // The step the last checkpoint holds (-1: none yet); the end of a run saves only when it trained since.
  let savedStep = -1;
  // Set once the folder is known to hold no other run: only then may a failed start clean up.
  let ownsFolder = false;
  let failedStart = false;
  let loggers: RunLoggers | null = null;
  try {
    if (!resumeDir && checkFreshRunDir(runDir, runDir) === 'failed-start') {
      clearFailedStart(runDir);
      log(`${runDir}: removed the files of an earlier start that failed before its first step and checkpoint`);
    }
    ownsFolder = !resumeDir;
    for (const stale of removeStaleTemporaries(runDir))
      log(`removed ${stale}, left by a run that stopped while saving`);
    const metricsFile = join(runDir, 'metrics.jsonl');
    if (resumeDir) {
      const state = loadCheckpoint(resumeDir, model.params, optimizer);
      step = state.step;
      cursor = new DataCursor(data.train, config.data.shuffleSeed, state.data.epoch, state.data.index);
      // Keep the metrics and evaluations of the steps the checkpoint covers, so the curves continue
      // without a seam (and the next append does not land on a torn line).
      for (const file of [metricsFile, join(runDir, 'eval.jsonl')]) trimLog(file, step, log);
      log(`resumed from ${resumeDir} at step ${step}`);
      // The run keeps its own config.json; what this resume changes is said and recorded beside it.
      // Changes are told against the settings the run last trained with (its resumes included).
      const savedRun = [runDir, dirname(dirname(resumeDir))].find((dir) => existsSync(join(dir, 'config.json')));
      const changes = savedRun
        ? configChanges(latestRunSettings(savedRun), portableConfig(config, resolved.baseDir))
        : [];
      log(
        changes.length
          ? `resume changes: ${formatChanges(changes)}`
          : "resume: the run's own settings, nothing changed",
      );
      if (totalSteps < step)
        throw new KavaError(
          `the run is at step ${step} already, past the ${totalSteps} steps asked for; give --steps more than ${step} to train further, or evaluate it with kava eval --run ${runDir}`,
          { exitCode: 2 },
        );
      const finalReport = join(runDir, 'eval', 'final.json');
      if (step === totalSteps && (heldOut.length === 0 || options.skipFinalEval || evaluatedAt(finalReport) === step)) {
        // A finished run: nothing is trained, saved, evaluated or recorded again.
        log(
          `the run finished all ${totalSteps} steps${existsSync(finalReport) ? ' and its final evaluation' : ''}; nothing to do (give --steps more than ${step} to train further; kava eval --run evaluates it again)`,
        );
        return {
          runDir,
          steps: step,
          trainedSteps: 0,
          totalSteps,
          interrupted: false,
          losses: {},
          checkpoint: resumeDir,
          evaluation: existsSync(finalReport) ? (readJsonObject(finalReport) as unknown as EvalReport) : null,
          wallSeconds: 0,
          tokensPerSecond: 0,
        };
      }
      for (const line of scheduleChange(step, state.totalSteps, totalSteps, config.train)) log(line);
      recordResume(runDir, { step, checkpoint: resumeDir, changes });
    } else {
      withFile(metricsFile, 'write', () => writeFileSync(metricsFile, ''));
    }
    const configFile = join(runDir, 'config.json');
    if (!resumeDir || !existsSync(configFile))
      writeTextAtomic(configFile, `${JSON.stringify(portableConfig(config, resolved.baseDir), null, 2)}\n`);
    loggers = new RunLoggers(registry, config, runDir, step, log);
    if (loggers.names.length) log(`metrics also go to: ${loggers.names.join(', ')} (config loggers)`);

    const varNames = new Map<string, string>();
    for (const [name, v] of model.params) varNames.set(v.name, name);
    const state = (): TrainingState => ({
      step,
      totalSteps,
      optimizerStep: optimizer.step,
      data: { epoch: cursor.epoch, index: cursor.index },
      params: [...model.params].map(([name, v]) => ({ name, shape: v.shape })),
    });
    let lastCheckpoint = resumeDir ?? '';
    if (resumeDir) savedStep = step;
    const checkpoint = async () => {
      lastCheckpoint = await saveCheckpoint(runDir, state(), model.params, optimizer, model.tokenizer);
      savedStep = step;
      await hooks.checkpoint.promise({ step, dir: lastCheckpoint });
      return lastCheckpoint;
    };
    const evaluateAt = async (label: string): Promise<EvalReport | null> => {
      if (heldOut.length === 0) return null;
      // The latent-usage check (two more passes over the questions) runs at the final evaluation
      // only, and needs two questions at least (shuffling gives each question another's latents).
      const latentUsage =
        label === 'final' && config.eval.mode === 'latent' && config.eval.latentUsage && evalQuestions >= 2;
      const report = await evaluateModel(model, heldOut, config, {
        predictionsFile: join(runDir, 'eval', `${label}.predictions.jsonl`),
        latentUsage,
        registry,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onEvalProgress
          ? {
              onProgress: (done: number, source: string) =>
                options.onEvalProgress!(done, evalQuestions, source === 'rollout' ? undefined : `latents ${source}`),
            }
          : {}),
      });
      writeTextAtomic(join(runDir, 'eval', `${label}.json`), `${JSON.stringify({ step, ...report }, null, 2)}\n`);
      appendJsonLine(join(runDir, 'eval.jsonl'), { step, ...report });
      const evaluation = {
        step,
        mode: config.eval.mode,
        accuracy: report.accuracy,
        count: report.questions,
        metrics: {
          forwardPassesPerQuestion: report.forwardPassesPerQuestion,
          kvEntriesPerQuestion: report.kvEntriesPerQuestion,
          ...(report.majorityLevel !== undefined ? { majorityLevel: report.majorityLevel } : {}),
          ...(report.accuracyLatentsShuffled !== undefined
            ? {
                accuracyLatentsShuffled: report.accuracyLatentsShuffled,
                accuracyLatentsPlaceholder: report.accuracyLatentsPlaceholder!,
              }
            : {}),
        },
      };
      loggers?.evaluation(evaluation);
      await hooks.evaluation.promise(evaluation);
      const usage =
        report.accuracyLatentsShuffled === undefined
          ? ''
          : `; latents shuffled ${pct(report.accuracyLatentsShuffled)}, placeholder ${pct(report.accuracyLatentsPlaceholder!)}`;
      log(
        `eval at step ${step}: accuracy ${pct(report.accuracy)} on ${report.questions} questions (${config.eval.mode}), ${report.forwardPassesPerQuestion.toFixed(1)} passes/question${usage}`,
      );
      return report;
    };

    const runInfo = { runDir, config, kind: 'train' as const };
    await hooks.runStart.promise(runInfo);
    const speeds: number[] = [];
    let losses: Record<string, number> = {};
    let interrupted = false;
    let skippedInARow = 0;
    if (!resumeDir && config.train.checkpointEvery > 0) await checkpoint(); // a good state to fall back to
    while (step < totalSteps) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const lr = cosineWithWarmup(step, totalSteps, config.train.lr, config.train.warmup);
      let accumulated: Map<string, tf.Tensor> | null = null;
      const sums: Record<string, number> = {};
      let tokens = 0;
      const measure = config.train.gradNormEvery > 0 && (step + 1) % config.train.gradNormEvery === 0;
      let measured: TermGradients | null = null;
      // A stop signal is honoured between micro-batches too (a large batch takes many seconds):
      // the unfinished step is dropped and the data cursor put back, so the checkpoint saved is
      // the last whole step's and a resume continues exactly where an uninterrupted run would.
      const stepStart = { epoch: cursor.epoch, index: cursor.index };
      let stopped = false;
      for (let done = 0, index = 0; done < batchSize; done += micro, index++) {
        if (done > 0) {
          await new Promise((resolve) => setImmediate(resolve));
          if (options.signal?.aborted) {
            stopped = true;
            break;
          }
        }
        const examples = cursor.take(Math.min(micro, batchSize - done));
        const warming = step < teacherWarmupSteps && warmupTerms.length > 0;
        const batch = buildBatch(examples, model.tokenizer, model.tokens, warming ? warmupPlan : plan, encode);
        const share = examples.length / batchSize;
        try {
          hooks.batch.call({ step, examples });
          const seed = microSeed(step, index);
          let termValues: Record<string, tf.Tensor> = {};
          const { value, grads } = tf.variableGrads(() => {
            const out = forwardLosses(warming ? warmupParts : parts, batch, step, seed);
            termValues = out.terms;
            return tf.mul(out.total, share) as tf.Scalar;
          }, varList);
          for (const [name, t] of Object.entries(termValues)) sums[name] = (sums[name] ?? 0) + t.dataSync()[0]! * share;
          sums.total = (sums.total ?? 0) + value.dataSync()[0]!;
          tf.dispose([value, ...Object.values(termValues)]);
          if (accumulated === null) {
            accumulated = new Map(Object.entries(grads).map(([k, g]) => [varNames.get(k)!, g]));
          } else {
            for (const [k, g] of Object.entries(grads)) {
              const name = varNames.get(k)!;
              const prev = accumulated.get(name)!;
              accumulated.set(name, tf.add(prev, g));
              tf.dispose([prev, g]);
            }
          }
          tokens += batch.tokens;
          if (measure) {
            measured = warming ? warmupTermGradients : termGradients;
            measured!.add(batch, step, seed, share);
          }
        } finally {
          batch.dispose();
        }
      }
      if (stopped) {
        tf.dispose([...(accumulated?.values() ?? [])]);
        (measured as TermGradients | null)?.dispose();
        cursor = new DataCursor(data.train, config.data.shuffleSeed, stepStart.epoch, stepStart.index);
        interrupted = true;
        break;
      }
      // A non-finite loss or gradient is never applied (and so never checkpointed): the weights and
      // the optimiser stay as they were, the batch is passed over, and a run that keeps producing
      // them stops while its checkpoints are still good.
      const badLoss = Object.entries(sums).find(([, v]) => !Number.isFinite(v));
      const { grads: clipped, norm } = clipByGlobalNorm(accumulated!, config.train.clip);
      tf.dispose([...accumulated!.values()]);
      const termGradNorms = (measured as TermGradients | null)?.take();
      const problem = badLoss
        ? `loss "${badLoss[0]}" is ${badLoss[1]}`
        : Number.isFinite(norm)
          ? null
          : `gradient norm is ${norm}`;
      if (problem) {
        tf.dispose([...clipped.values()]);
        skippedInARow++;
        const limit = config.train.maxNonFiniteSkips;
        if (skippedInARow > limit)
          throw nonFiniteStop(step + 1, problem, skippedInARow, limit, sums, lastCheckpoint, runDir, config.train.lr);
        log(`step ${step + 1}: ${problem}; skipped, weights unchanged (${skippedInARow} in a row, at most ${limit})`);
      } else {
        skippedInARow = 0;
        optimizer.apply(model.params, clipped, lr, decay);
        tf.dispose([...clipped.values()]);
        step++;
        const seconds = (performance.now() - t0) / 1000;
        const tokensPerSecond = tokens / seconds;
        speeds.push(tokensPerSecond);
        losses = sums;
        const metrics: StepMetrics = { step, totalSteps, losses, lr, gradNorm: norm, tokensPerSecond };
        // The process's peak resident memory so far (MiB): what --dry-run's estimate is checked against.
        const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
        // CPU time of the step (all threads): on a busy machine, what it would take alone.
        const cpu = process.cpuUsage(cpu0);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        // Whether clipping scaled this step's gradient (the report gives the fraction of steps).
        const clippedStep = config.train.clip > 0 && norm > config.train.clip;
        const record = {
          ...metrics,
          clipped: clippedStep,
          ...(termGradNorms ? { termGradNorms } : {}),
          seconds,
          cpuSeconds,
          epoch: cursor.epoch,
          peakRssMiB,
        };
        appendJsonLine(metricsFile, record);
        loggers.step(record);
        hooks.step.call(metrics);
        options.onStep?.(metrics);
        if (evalSteps.has(step))
          try {
            await evaluateAt(`step-${step}`);
          } catch (error) {
            if (!options.signal?.aborted) throw error;
            log(`stopped during the evaluation at step ${step}; it is not recorded`);
          }
      }
      // A step is synchronous tensor work: yield to the event loop so a Ctrl-C (SIGINT handler)
      // or a timer can run between steps, not only when the run ends.
      await new Promise((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (
        !problem &&
        config.train.checkpointEvery > 0 &&
        step % config.train.checkpointEvery === 0 &&
        step < totalSteps
      )
        await checkpoint();
    }
    if (savedStep !== step) {
      await checkpoint();
      log(`${interrupted ? 'interrupted; ' : ''}checkpoint saved: ${lastCheckpoint}`);
    } else if (interrupted) {
      log(`interrupted; the last checkpoint holds step ${step}: ${lastCheckpoint}`);
    }
    // A stop signal during the final evaluation stops it between batches: the run is then
    // interrupted, and a resume evaluates it (its weights are saved already).
    let evaluation: EvalReport | null = null;
    if (!interrupted && !options.skipFinalEval) {
      try {
        evaluation = await evaluateAt('final');
      } catch (error) {
        if (!options.signal?.aborted) throw error;
        log(`interrupted during the final evaluation; resume the run to evaluate it`);
        interrupted = true;
      }
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const summary = {
      steps: step,
      metrics: { ...losses, wallSeconds, ...(evaluation ? { accuracy: evaluation.accuracy } : {}) },
    };
    await hooks.runEnd.promise(runInfo, summary);
    return {
      runDir,
      steps: step,
      trainedSteps: speeds.length,
      totalSteps,
      interrupted,
      losses,
      checkpoint: lastCheckpoint,
      evaluation,
      wallSeconds,
      tokensPerSecond: median(speeds),
    };
  } catch (error) {
    // A new run that fails before its first step and checkpoint (a full disk, a crash in the
    // first micro-batch) leaves nothing behind that would block its retry.
    failedStart = ownsFolder && step === 0 && savedStep < 0;
    throw error;
  } finally {
    await loggers?.close();
    frozenTeacher?.dispose();
    termGradients?.dispose();
    warmupTermGradients?.dispose();
    optimizer.dispose();
    model.dispose();
    lock.release();
    if (failedStart) {
      if (createdFolder) rmSync(runDir, { recursive: true, force: true });
      else clearFailedStart(runDir);
    }
  }
}
