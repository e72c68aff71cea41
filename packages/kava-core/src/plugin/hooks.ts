import { AsyncSeriesHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { tf } from '../tf.js';
import type { Example } from '../contracts/dataset.js';
import type { ForwardResult } from '../contracts/backbone.js';
import type { EvictionResult, ScorerInput } from '../contracts/scorer.js';
import type { KavaConfig } from '../config/schema.js';

type Tensor = tf.Tensor;

/** What `runStart` and `runEnd` are told: the run folder, its config, and which command runs. */
export interface RunInfo {
  runDir: string;
  config: KavaConfig;
  /** Which command runs: a training run, `kava eval` or `kava infer`. */
  kind: 'train' | 'eval' | 'infer';
}
/** What `runEnd` is told besides the run: its steps and final metrics. */
export interface RunSummary {
  steps: number;
  /** Final metrics (last losses, final accuracy, wall time in seconds...). */
  metrics: Record<string, number>;
}
/** A micro-batch's examples at a step (`batch`). */
export interface BatchInfo {
  step: number;
  examples: readonly Example[];
}
/** A teacher or student pass's output at a step (`teacherForward`, `studentForward`). */
export interface ForwardInfo {
  step: number;
  /** Tensors are owned by the trainer and valid only during the tap. */
  result: ForwardResult;
}
/** A compression at a step: the scorer's input and scores, and the budget (`compression`). */
export interface CompressionInfo {
  step: number;
  scorer: string;
  input: ScorerInput;
  /** [B, L, H_kv, N] scores the evictor used. */
  scores: Tensor;
  budget: number;
}
/** The step whose loss terms `losses` sees (and may change). */
export interface LossesInfo {
  step: number;
}
/** One applied optimizer step's numbers (`step`, metrics.jsonl, the progress display). */
export interface StepMetrics {
  step: number;
  totalSteps: number;
  /** Unweighted value of every loss term, and "total" (weighted sum). */
  losses: Record<string, number>;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
}
/** An evaluation's result (`evaluation`): accuracy on `count` questions in `mode`, and its other metrics. */
export interface EvaluationInfo {
  /** Training step at which the evaluation ran, or null for a standalone `kava eval`. */
  step: number | null;
  mode: 'latent' | 'cot' | 'direct';
  accuracy: number;
  count: number;
  metrics: Record<string, number>;
}
/** A saved checkpoint: its step and folder (`checkpoint`). */
export interface CheckpointInfo {
  step: number;
  dir: string;
}

/**
 * Every lifecycle hook, declared once. The trainer and evaluator call them in this order per
 * run: runStart, then per step batch → teacherForward → compression → studentForward → losses →
 * step, with evaluation and checkpoint as they happen, and runEnd last. Sync hooks run inside the
 * training step (keep them fast; tensors they see are disposed after the tap returns).
 * Waterfall hooks may return a replacement value.
 */
export class KavaHooks {
  readonly runStart = new AsyncSeriesHook<[RunInfo]>(['run']);
  readonly batch = new SyncHook<[BatchInfo]>(['batch']);
  readonly teacherForward = new SyncHook<[ForwardInfo]>(['forward']);
  /** May return a different EvictionResult (the old one is then disposed by the trainer). */
  readonly compression = new SyncWaterfallHook<[EvictionResult, CompressionInfo]>(['result', 'info']);
  readonly studentForward = new SyncHook<[ForwardInfo]>(['forward']);
  /** Unweighted loss terms by name; may add, drop or replace terms. */
  readonly losses = new SyncWaterfallHook<[Record<string, Tensor>, LossesInfo]>(['terms', 'info']);
  readonly step = new SyncHook<[StepMetrics]>(['metrics']);
  readonly evaluation = new AsyncSeriesHook<[EvaluationInfo]>(['evaluation']);
  readonly checkpoint = new AsyncSeriesHook<[CheckpointInfo]>(['checkpoint']);
  readonly runEnd = new AsyncSeriesHook<[RunInfo, RunSummary]>(['run', 'summary']);

  constructor() {
    Object.freeze(this);
  }
}

/** Names of every hook, in lifecycle order (for docs and `kava plugins`). */
export const HOOK_NAMES = [
  'runStart',
  'batch',
  'teacherForward',
  'compression',
  'studentForward',
  'losses',
  'step',
  'evaluation',
  'checkpoint',
  'runEnd',
] as const satisfies readonly (keyof KavaHooks)[];
