import type { KavaConfig } from '../config/schema.js';
import type { EvaluationInfo, StepMetrics } from '../plugin/hooks.js';

/** One training step as metrics.jsonl records it. */
export interface StepRecord extends StepMetrics {
  /** Whether clipping scaled this step's gradient. */
  clipped: boolean;
  /** Per loss term, the norm of its own gradient (steps where train.gradNormEvery measured them). */
  termGradNorms?: Record<string, number>;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

/** What a logger is opened with. */
export interface LoggerContext {
  runDir: string;
  config: KavaConfig;
  /** The logger's options (`loggers.<name>`), parsed by its `options` schema. */
  options: Record<string, unknown>;
  /**
   * Steps the run had trained when this process started: 0 for a new run, the checkpoint's step
   * for a resumed one. Steps after it may have been logged before the interruption and are
   * logged again now; a logger that keeps history drops the old ones.
   */
  resumedAt: number;
}

/**
 * Where a training run's numbers go besides metrics.jsonl and eval.jsonl (which core always
 * writes): TensorBoard event files, an experiment tracker. Calls come in step order from the
 * training loop; keep `step` fast. A logger that throws is turned off for the rest of the run
 * with a note, and the training goes on.
 */
export interface MetricsLogger {
  /** One applied step's row of metrics.jsonl. */
  step(record: StepRecord): void;
  /** One evaluation during or at the end of training. */
  evaluation(info: EvaluationInfo & { step: number }): void;
  /** Flushes and closes; called once when the run ends, however it ends. */
  close(): void | Promise<void>;
}
