import { join } from 'node:path';
import type { Example } from '../contracts/dataset.js';
import type { KavaConfig } from '../config/schema.js';
import type { KavaHooks } from '../plugin/hooks.js';
import type { Registry } from '../plugin/registry.js';
import type { EvalReport } from '../eval/evaluate.js';
import { writeTextAtomic } from '../model/atomic-write.js';
import { appendJsonLine } from '../io/json-file.js';
import { evaluateModel } from '../runs/evaluate-run.js';
import type { KavaModel } from './model-setup.js';
import type { RunLoggers } from './run-loggers.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export interface RunEvaluationContext {
  model: KavaModel;
  heldOut: readonly Example[];
  config: KavaConfig;
  registry: Registry;
  hooks: KavaHooks;
  runDir: string;
  /** Questions an evaluation covers (eval.limit of the held-out set). */
  questions: number;
  loggers: () => RunLoggers | null;
  log: (line: string) => void;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, pass?: string) => void;
}

/**
 * One evaluation of a training run at `step`, labelled `label` ("step-N" or "final"): the report in
 * eval/<label>.json and a line in eval.jsonl, predictions beside it, the loggers and the
 * `evaluation` hook told, one line logged. Null when the run has no held-out data.
 */
export async function evaluateRunAt(
  ctx: RunEvaluationContext,
  step: number,
  label: string,
): Promise<EvalReport | null> {
  const { config, runDir } = ctx;
  if (ctx.heldOut.length === 0) return null;
  // The latent-usage check (two more passes over the questions) runs at the final evaluation
  // only, and needs two questions at least (shuffling gives each question another's latents).
  const latentUsage =
    label === 'final' && config.eval.mode === 'latent' && config.eval.latentUsage && ctx.questions >= 2;
  const onProgress = ctx.onProgress;
  const report = await evaluateModel(ctx.model, ctx.heldOut, config, {
    predictionsFile: join(runDir, 'eval', `${label}.predictions.jsonl`),
    latentUsage,
    registry: ctx.registry,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(onProgress
      ? {
          onProgress: (done: number, source: string) =>
            onProgress(done, ctx.questions, source === 'rollout' ? undefined : `latents ${source}`),
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
  ctx.loggers()?.evaluation(evaluation);
  await ctx.hooks.evaluation.promise(evaluation);
  const usage =
    report.accuracyLatentsShuffled === undefined
      ? ''
      : `; latents shuffled ${pct(report.accuracyLatentsShuffled)}, placeholder ${pct(report.accuracyLatentsPlaceholder!)}`;
  ctx.log(
    `eval at step ${step}: accuracy ${pct(report.accuracy)} on ${report.questions} questions (${config.eval.mode}), ${report.forwardPassesPerQuestion.toFixed(1)} passes/question${usage}`,
  );
  return report;
}
