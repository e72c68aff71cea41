import { basename, join, resolve } from 'node:path';
import { addBackendOption, addPluginOption, addSetOption, positiveFlag } from '../options.js';
import { answerMode, loadModelFromFlags } from '../load-model.js';
import { addKvBudgetOptions, applyKvBudget } from '../kv-budget.js';
import { EvalProgress } from '../progress.js';
import { downloadProgress } from '../download-progress.js';
import { answerLevelsLine } from '../report/answer-levels.js';
import { Option, type Command } from 'commander';
import {
  BACKENDS,
  ConfigError,
  datasetFileOfId,
  droppedQuestionTokens,
  evaluateModel,
  evaluatedCount,
  heldOutExamples,
  isHubDataset,
  loadRunData,
  readExamples,
  type EvalReport,
} from '@kava/core/app';

interface EvalFlags {
  run?: string;
  checkpoint?: string;
  modelDir?: string;
  model?: string;
  data?: string;
  format?: string;
  mode?: 'latent' | 'cot' | 'direct';
  limit?: string;
  json?: boolean;
  latentUsage?: boolean;
  split?: 'test' | 'validation';
  plugin?: string[];
  backend?: (typeof BACKENDS)[number];
  kvBudget?: string;
  kvInterval?: string;
  kvScorer?: string;
}

export function formatReport(r: EvalReport): string {
  return [
    `accuracy: ${(100 * r.accuracy).toFixed(1)}% (${r.correct}/${r.questions}, mode ${r.mode})`,
    ...[answerLevelsLine(r)].filter((line) => line !== null),
    `forward passes per question: ${r.forwardPassesPerQuestion.toFixed(2)}`,
    `generated tokens per question: ${r.generatedTokensPerQuestion.toFixed(2)}`,
    `KV entries held at answer time: ${r.kvEntriesPerQuestion.toFixed(1)}${r.peakKvEntriesPerQuestion === undefined ? '' : ` (peak while writing the trace under the KV budget: ${r.peakKvEntriesPerQuestion.toFixed(1)})`}`,
    ...(r.accuracyLatentsShuffled !== undefined && r.accuracyLatentsPlaceholder !== undefined
      ? [
          `latent usage: ${(100 * r.accuracyLatentsShuffled).toFixed(1)}% with each question's latents given to another, ${(100 * r.accuracyLatentsPlaceholder).toFixed(1)}% with the placeholder in every latent slot (no rollout)`,
        ]
      : []),
    `time: ${r.wallSeconds.toFixed(1)} s`,
    ...(r.predictionsFile ? [`predictions: ${r.predictionsFile}`] : []),
  ].join('\n');
}

export function evalCommand(program: Command): void {
  addKvBudgetOptions(addSetOption(addBackendOption(addPluginOption(program.command('eval')))))
    .description('evaluate a trained model: accuracy, forward passes per question, KV entries, time')
    .option('--run <dir>', 'run directory (its latest checkpoint and held-out data)')
    .option('--checkpoint <dir>', 'checkpoint folder (or run directory)')
    .option(
      '--model-dir <dir>',
      'a Hugging Face model directory as it is (a base model, or one from `kava export --merged`) instead of a run; mode cot or direct',
    )
    .option(
      '--model <id>',
      'a Hugging Face model id, org/name[@revision]: like --model-dir on its snapshot in the Hugging Face cache (downloaded first when missing)',
    )
    .option(
      '--data <file>',
      "evaluation data (GSM8k, GSM8k-Hard, SVAMP, ...): a file, or a Hugging Face dataset hf:org/name[@revision][:split] (split default: test); default: the run's held-out data",
    )
    .option('--format <name>', 'format of --data (default: sniffed)', 'auto')
    .addOption(
      new Option(
        '--mode <mode>',
        "latent thoughts, written CoT, or direct answer (default: the run's eval.mode; cot for --model-dir)",
      ).choices(['latent', 'cot', 'direct']),
    )
    .option('--limit <n>', 'evaluate at most n questions')
    .addOption(
      new Option(
        '--split <split>',
        "the run's held-out split to evaluate when --data is not given (default: its eval.split)",
      ).choices(['test', 'validation']),
    )
    .option(
      '--latent-usage',
      'latent mode: also evaluate with the latents shuffled across the batch and with the placeholder in every latent slot, to see how much the answers depend on the latents',
    )
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
              isHubDataset(flags.data)
                ? await datasetFileOfId(flags.data, {
                    field: '--data',
                    defaultSplit: 'test',
                    progress: downloadProgress(flags.data),
                  })
                : resolve(flags.data),
              flags.format ?? 'auto',
              { skipInvalid: config.data.skipInvalid },
              '--format',
              '--data',
            )
          : heldOutExamples(
              flags.split ? { ...config, eval: { ...config.eval, split: flags.split } } : config,
              await loadRunData(config, plugins.registry, (p) => p),
            );
        if (examples.length === 0)
          throw new ConfigError(`kava eval: no evaluation questions (the run has no held-out data; pass --data FILE)`);
        const { maxQuestionTokens } = config.train;
        const cut = examples
          .slice(0, config.eval.limit ?? examples.length)
          .filter((e) => droppedQuestionTokens(run.model.tokenizer, e.question, { maxQuestionTokens }) > 0).length;
        if (cut > 0)
          process.stderr.write(
            `note: ${cut} question${cut === 1 ? ' is' : 's are'} longer than train.maxQuestionTokens (${maxQuestionTokens}) and read from their end only; raise it with --set train.maxQuestionTokens=N\n`,
          );
        const mode = answerMode('eval', run, flags.mode);
        applyKvBudget(run, flags, mode, 'eval');
        if (flags.latentUsage && mode !== 'latent')
          throw new ConfigError(
            `kava eval: --latent-usage needs latent mode (this evaluation answers in ${mode} mode)`,
          );
        // The lifecycle hooks of docs/hooks.md, as in training: runStart, evaluation, runEnd (kind "eval").
        const { hooks } = plugins;
        const runInfo = { runDir: run.runDir, config, kind: 'eval' as const };
        await hooks.runStart.promise(runInfo);
        const label = `eval-${run.source === 'model-dir' ? `${basename(run.checkpointDir)}-` : ''}${mode}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
        // One bar per pass over the questions (with --latent-usage: own, shuffled, placeholder latents).
        const total = evaluatedCount(config, examples.length);
        let progress: EvalProgress | null = null;
        let pass = '';
        const onProgress = (done: number, source: string) => {
          if (source !== pass) {
            progress?.stop();
            pass = source;
            progress = new EvalProgress(
              `evaluating (${mode}${source === 'rollout' ? '' : `, latents ${source}`})`,
              total,
            );
          }
          progress!.update(done);
        };
        const report = await evaluateModel(run.model, examples, config, {
          mode,
          latentUsage: flags.latentUsage ?? false,
          predictionsFile: join(run.runDir, 'eval', `${label}.predictions.jsonl`),
          registry: plugins.registry,
          ...(flags.json ? {} : { onProgress }),
        }).finally(() => (progress as EvalProgress | null)?.stop());
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
