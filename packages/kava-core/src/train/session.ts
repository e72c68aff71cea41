import { tf } from '../tf.js';
import { ConfigError } from '../errors.js';
import type { Example } from '../contracts/dataset.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import type { KavaConfig } from '../config/schema.js';
import type { KavaHooks } from '../plugin/hooks.js';
import type { Registry } from '../plugin/registry.js';
import { createCompression, type Compression } from '../compression/compress.js';
import { AdamW } from './adamw.js';
import { buildBatch, type BatchPlan, type TrainBatch } from './batch.js';
import { clipByGlobalNorm } from './clip.js';
import { encodeOptions } from './data.js';
import { latentPlan } from '../latent/plan.js';
import { methodTrainsLatents } from './preflight.js';
import { setupFrozenTeacher, setupModel, type KavaModel } from './model-setup.js';
import { cosineWithWarmup } from './schedule.js';
import { forwardLosses, scorerRows, type StepParts, type WeightedTerm } from './step.js';
import { TermGradients } from './term-gradients.js';
import { Rng } from '../util/rng.js';

/** The optimiser steps of a run: train.steps, or train.epochs over `trainExamples` in batches of train.batchSize. */
export function plannedSteps(config: KavaConfig, trainExamples: number): number {
  const { steps, epochs, batchSize } = config.train;
  return steps ?? Math.max(1, Math.ceil((epochs * trainExamples) / batchSize));
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
 * Which passes the method and its loss terms need (and the teacher rows the compression's scorer
 * reads); a term the method cannot feed is a config error.
 */
export function planFor(
  config: KavaConfig,
  terms: readonly WeightedTerm[],
  compression: Compression | null,
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
  const rows = scorerRows(compress ? compression : null);
  return {
    teacher: config.method === 'no-cot' ? 'direct' : needs('teacher') || compress ? 'trace' : null,
    student: latentMethod && needs('student'),
    latents: config.latent.count,
    finalLatents: latentPlan(config.latent).finalLatents,
    ...rows,
  };
}

/** The parts of one optimizer step, in order; a step observer hears each one end. */
export type StepStage = 'batch' | 'forward' | 'backward' | 'read-back' | 'apply';

/** Watches a step from outside (the benchmark times its stages and reads its batch shapes). */
export interface StepObserver {
  /** Called as each stage ends. */
  stage?(name: StepStage): void;
  /** Called with each micro-batch once it is built. */
  batch?(batch: TrainBatch): void;
}

/** What one call of `trainStep` did. */
export type StepOutcome =
  /** A stop signal arrived between micro-batches: nothing was applied; the caller puts its data back. */
  | { status: 'stopped' }
  /** A loss or the gradient was not finite: nothing was applied, the weights are as they were. */
  | { status: 'skipped'; problem: string; losses: Record<string, number> }
  | {
      status: 'applied';
      losses: Record<string, number>;
      lr: number;
      gradNorm: number;
      /** Whether clipping scaled the gradient. */
      clipped: boolean;
      /** Real tokens the passes processed (for tokens/s). */
      tokens: number;
      /** Each loss term's own gradient norm, on the steps `train.gradNormEvery` measures. */
      termGradNorms?: Record<string, number>;
    };

/**
 * Everything an optimizer step needs, assembled once from a resolved config: the model (with a
 * frozen teacher when `train.teacher` says so), the loss terms, the compression, the batch plans of
 * the teacher warm-up and of the method, the optimizer and its schedule. `trainStep` is the one
 * step of KAVA-METHOD §1–5 that the trainer, the benchmark and any application run; `train()`
 * adds the run around it (folder, resume, checkpoints, evaluation, progress).
 */
export class TrainingSession {
  readonly model: KavaModel;
  readonly optimizer: AdamW;
  readonly terms: WeightedTerm[];
  readonly compression: Compression | null;
  readonly plan: BatchPlan;
  /** The teacher-only terms of the warm-up (train.teacherWarmup). */
  readonly warmupTerms: WeightedTerm[];
  readonly totalSteps: number;
  readonly teacherWarmupSteps: number;
  readonly batchSize: number;
  readonly microBatchSize: number;
  private readonly frozenTeacher: ReturnType<typeof setupFrozenTeacher> | null;
  private readonly parts: StepParts;
  private readonly warmupParts: StepParts;
  private readonly warmupPlan: BatchPlan;
  private readonly variables: tf.Variable[];
  private readonly paramNames = new Map<string, string>();
  private readonly termGradients: TermGradients | null;
  private readonly warmupTermGradients: TermGradients | null;

  constructor(
    readonly config: KavaConfig,
    registry: Registry,
    private readonly hooks: KavaHooks,
    tokenizer: Tokenizer,
    trainExamples: number,
  ) {
    this.model = setupModel(config, registry, tokenizer);
    try {
      this.terms = activeTerms(config, registry);
      this.compression = this.terms.some((t) => t.term.needs.includes('compressed'))
        ? createCompression(config.compression, registry)
        : null;
      if (this.compression && config.compression.rope === 'pre')
        throw new ConfigError(
          'compression.rope: "pre" is not supported by the trainer yet (scorers see the post-RoPE keys the cache holds); use "post"',
        );
      this.plan = planFor(config, this.terms, this.compression);
      this.frozenTeacher = config.train.teacher === 'frozen' ? setupFrozenTeacher(config, registry, this.model) : null;
    } catch (error) {
      this.model.dispose();
      throw error;
    }
    this.totalSteps = plannedSteps(config, trainExamples);
    this.teacherWarmupSteps = Math.round(config.train.teacherWarmup * this.totalSteps);
    this.batchSize = config.train.batchSize;
    this.microBatchSize = Math.min(config.train.microBatchSize, this.batchSize);
    this.parts = {
      backbone: this.model.backbone,
      ...(this.frozenTeacher ? { teacher: this.frozenTeacher } : {}),
      latent: this.model.latent,
      compression: this.compression,
      terms: this.terms,
      hooks,
      schedule: { startStep: this.teacherWarmupSteps, totalSteps: this.totalSteps },
    };
    // Teacher warm-up: the first steps train only the written trace (no student, no compression).
    this.warmupTerms = this.terms.filter((t) => t.name === 'teacher-ce');
    this.warmupPlan = {
      ...this.plan,
      teacher: this.plan.teacher ?? 'trace',
      student: false,
      answerQueries: false,
      window: 0,
    };
    this.warmupParts = { ...this.parts, compression: null, terms: this.warmupTerms };
    this.optimizer = new AdamW({ weightDecay: config.train.weightDecay });
    this.variables = [...this.model.params.values()];
    for (const [name, v] of this.model.params) this.paramNames.set(v.name, name);
    const measure = config.train.gradNormEvery > 0;
    this.termGradients = measure ? new TermGradients(this.parts, this.variables) : null;
    this.warmupTermGradients = measure ? new TermGradients(this.warmupParts, this.variables) : null;
  }

  /** Whether `step` (0-based) trains the teacher alone (train.teacherWarmup). */
  warming(step: number): boolean {
    return step < this.teacherWarmupSteps && this.warmupTerms.length > 0;
  }

  /** The learning rate of step `step` (0-based): warm-up, then cosine. */
  lr(step: number): number {
    return cosineWithWarmup(step, this.totalSteps, this.config.train.lr, this.config.train.warmup);
  }

  /**
   * One optimizer step from step `step` (0-based): micro-batches of train.microBatchSize drawn
   * with `take` until train.batchSize examples, each forward → losses → gradients, accumulated,
   * clipped to train.clip and applied with AdamW (decay on matrices only). A non-finite loss or
   * gradient is never applied. A stop `signal` is honoured between micro-batches (a large batch
   * takes many seconds): the unfinished step is dropped and the caller puts its examples back.
   */
  async trainStep(
    step: number,
    take: (n: number) => Example[],
    options: { signal?: AbortSignal; observer?: StepObserver } = {},
  ): Promise<StepOutcome> {
    const { config, hooks, batchSize } = this;
    const { observer } = options;
    const micro = this.microBatchSize;
    const warming = this.warming(step);
    const lr = this.lr(step);
    // Micro-batch k of the run (k = step · microPerStep + its index in the step) draws its random
    // numbers from the k-th seed of train.seed's stream: a function of the seed and the position
    // alone, so a resumed run draws what the uninterrupted one does at the same step.
    const microPerStep = Math.ceil(batchSize / micro);
    const measured =
      config.train.gradNormEvery > 0 && (step + 1) % config.train.gradNormEvery === 0
        ? warming
          ? this.warmupTermGradients
          : this.termGradients
        : null;
    const encode = encodeOptions(config);
    let accumulated: Map<string, tf.Tensor> | null = null;
    const sums: Record<string, number> = {};
    let tokens = 0;
    for (let done = 0, index = 0; done < batchSize; done += micro, index++) {
      if (done > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (options.signal?.aborted) {
          tf.dispose([...(accumulated?.values() ?? [])]);
          measured?.dispose();
          return { status: 'stopped' };
        }
      }
      const examples = take(Math.min(micro, batchSize - done));
      const batch = buildBatch(
        examples,
        this.model.tokenizer,
        this.model.tokens,
        warming ? this.warmupPlan : this.plan,
        encode,
      );
      const share = examples.length / batchSize;
      try {
        observer?.batch?.(batch);
        observer?.stage?.('batch');
        hooks.batch.call({ step, examples });
        const seed = Rng.seedAt(config.train.seed, step * microPerStep + index);
        let termValues: Record<string, tf.Tensor> = {};
        const { value, grads } = tf.variableGrads(() => {
          const out = forwardLosses(warming ? this.warmupParts : this.parts, batch, step, seed);
          termValues = out.terms;
          const total = tf.mul(out.total, share) as tf.Scalar;
          observer?.stage?.('forward');
          return total;
        }, this.variables);
        observer?.stage?.('backward');
        for (const [name, t] of Object.entries(termValues)) sums[name] = (sums[name] ?? 0) + t.dataSync()[0]! * share;
        sums.total = (sums.total ?? 0) + value.dataSync()[0]!;
        tf.dispose([value, ...Object.values(termValues)]);
        observer?.stage?.('read-back');
        if (accumulated === null) {
          accumulated = new Map(Object.entries(grads).map(([k, g]) => [this.paramNames.get(k)!, g]));
        } else {
          for (const [k, g] of Object.entries(grads)) {
            const name = this.paramNames.get(k)!;
            const prev = accumulated.get(name)!;
            accumulated.set(name, tf.add(prev, g));
            tf.dispose([prev, g]);
          }
        }
        tokens += batch.tokens;
        measured?.add(batch, step, seed, share);
      } finally {
        batch.dispose();
      }
    }
    const badLoss = Object.entries(sums).find(([, v]) => !Number.isFinite(v));
    const { grads: clipped, norm } = clipByGlobalNorm(accumulated!, config.train.clip);
    tf.dispose([...accumulated!.values()]);
    const termGradNorms = measured?.take();
    const problem = badLoss
      ? `loss "${badLoss[0]}" is ${badLoss[1]}`
      : Number.isFinite(norm)
        ? null
        : `gradient norm is ${norm}`;
    if (problem) {
      tf.dispose([...clipped.values()]);
      return { status: 'skipped', problem, losses: sums };
    }
    // Decay matrices only: norms, biases and other vectors are left alone, as is customary.
    const decay = (name: string) => (this.model.params.get(name)?.rank ?? 0) >= 2;
    this.optimizer.apply(this.model.params, clipped, lr, decay);
    tf.dispose([...clipped.values()]);
    observer?.stage?.('apply');
    return {
      status: 'applied',
      losses: sums,
      lr,
      gradNorm: norm,
      clipped: config.train.clip > 0 && norm > config.train.clip,
      tokens,
      ...(termGradNorms ? { termGradNorms } : {}),
    };
  }

  /** Releases the model, the frozen teacher, the optimizer's state and any measurement in flight. */
  dispose(): void {
    this.frozenTeacher?.dispose();
    this.termGradients?.dispose();
    this.warmupTermGradients?.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/** A training session for `config` (see TrainingSession); the caller disposes it. */
export function createTrainingSession(
  config: KavaConfig,
  plugins: { registry: Registry; hooks: KavaHooks },
  tokenizer: Tokenizer,
  trainExamples: number,
): TrainingSession {
  return new TrainingSession(config, plugins.registry, plugins.hooks, tokenizer, trainExamples);
}
