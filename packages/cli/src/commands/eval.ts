import { basename, join, resolve } from 'node:path';
import { addBackendOption, addPluginOption, positiveFlag } from '../options.js';
import { answerMode, loadModelFromFlags } from '../load-model.js';
import { EvalProgress } from '../progress.js';
import { Option, type Command } from 'commander';
import { BACKENDS, ConfigError, evaluateModel, loadRunData, readExamples, type EvalReport } from '@kava/core/app';

interface EvalFlags {
  run?: string;
  checkpoint?: string;
  modelDir?: string;
  data?: string;
  format?: string;
  mode?: 'latent' | 'cot' | 'direct';
  limit?: string;
  json?: boolean;
  plugin?: string[];
  backend?: (typeof BACKENDS)[number];
}

export function formatReport(r: EvalReport): string {
  return [
    `accuracy: ${(100 * r.accuracy).toFixed(1)}% (${r.correct}/${r.questions}, mode ${r.mode})`,
    `forward passes per question: ${r.forwardPassesPerQuestion.toFixed(2)}`,
    `generated tokens per question: ${r.generatedTokensPerQuestion.toFixed(2)}`,
    `KV entries held at answer time: ${r.kvEntriesPerQuestion.toFixed(1)}`,
    `time: ${r.wallSeconds.toFixed(1)} s`,
    ...(r.predictionsFile ? [`predictions: ${r.predictionsFile}`] : []),
  ].join('\n');
}

export function evalCommand(program: Command): void {
  addBackendOption(addPluginOption(program.command('eval')))
    .description('evaluate a trained model: accuracy, forward passes per question, KV entries, time')
    .option('--run <dir>', 'run directory (its latest checkpoint and held-out data)')
    .option('--checkpoint <dir>', 'checkpoint folder (or run directory)')
    .option(
      '--model-dir <dir>',
      'a Hugging Face model directory as it is (a base model, or one from `kava export --merged`) instead of a run; mode cot or direct',
    )
    .option('--data <file>', "evaluation file (GSM8k, GSM8k-Hard, SVAMP, ...); default: the run's held-out data")
    .option('--format <name>', 'format of --data (default: sniffed)', 'auto')
    .addOption(
      new Option(
        '--mode <mode>',
        "latent thoughts, written CoT, or direct answer (default: the run's eval.mode; cot for --model-dir)",
      ).choices(['latent', 'cot', 'direct']),
    )
    .option('--limit <n>', 'evaluate at most n questions')
    .option('--json', 'print the report as JSON')
    .action(async (flags: EvalFlags) => {
      const limit = positiveFlag('--limit', flags.limit);
      const run = await loadModelFromFlags('eval', flags);
      try {
        const { config, plugins } = run.resolved;
        const backend = run.backend;
        if (!flags.json) process.stderr.write(`${backend.description}\n`);
        if (limit !== undefined) config.eval.limit = limit;
        const examples = flags.data
          ? await readExamples(
              plugins.registry,
              resolve(flags.data),
              flags.format ?? 'auto',
              { skipInvalid: config.data.skipInvalid },
              '--format',
              '--data',
            )
          : (await loadRunData(config, plugins.registry, (p) => p)).test;
        if (examples.length === 0)
          throw new ConfigError(`kava eval: no evaluation questions (the run has no held-out data; pass --data FILE)`);
        const mode = answerMode('eval', run, flags.mode);
        // The lifecycle hooks of docs/hooks.md, as in training: runStart, evaluation, runEnd (kind "eval").
        const { hooks } = plugins;
        const runInfo = { runDir: run.runDir, config, kind: 'eval' as const };
        await hooks.runStart.promise(runInfo);
        const label = `eval-${run.source === 'model-dir' ? `${basename(run.checkpointDir)}-` : ''}${mode}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
        const progress = flags.json
          ? null
          : new EvalProgress(`evaluating (${mode})`, Math.min(examples.length, config.eval.limit ?? Infinity));
        const report = await evaluateModel(run.model, examples, config, {
          mode,
          predictionsFile: join(run.runDir, 'eval', `${label}.predictions.jsonl`),
          ...(progress ? { onProgress: (done: number) => progress.update(done) } : {}),
        }).finally(() => progress?.stop());
        const metrics = {
          forwardPassesPerQuestion: report.forwardPassesPerQuestion,
          kvEntriesPerQuestion: report.kvEntriesPerQuestion,
        };
        await hooks.evaluation.promise({
          step: run.step,
          mode,
          accuracy: report.accuracy,
          count: report.questions,
          metrics,
        });
        await hooks.runEnd.promise(runInfo, {
          steps: run.step,
          metrics: { accuracy: report.accuracy, wallSeconds: report.wallSeconds, ...metrics },
        });
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ checkpoint: run.checkpointDir, step: run.step, ...report }, null, 2)}\n`
            : `${formatReport(report)}\n`,
        );
      } finally {
        run.model.dispose();
      }
    });
}
