import { Option, type Command } from 'commander';
import {
  BACKENDS,
  ConfigError,
  droppedQuestionTokens,
  infer,
  latentPlan,
  strategyFor,
  type KavaConfig,
  type LatentReading,
} from '@kava/core/app';
import { addBackendOption, addPluginOption, addSetOption, positiveFlag } from '../options.js';
import { answerMode, loadModelFromFlags } from '../load-model.js';
import { addKvBudgetOptions, applyKvBudget, type KvBudgetFlags } from '../kv-budget.js';

export function inferCommand(program: Command): void {
  addKvBudgetOptions(addSetOption(addBackendOption(addPluginOption(program.command('infer')))))
    .description('answer one question with a trained model, and show what it cost')
    .argument('<question>', 'the question')
    .option('--checkpoint <dir>', 'checkpoint folder or run directory')
    .option(
      '--model-dir <dir>',
      'a Hugging Face model directory as it is (a base model, or one from `kava export --merged`) instead of a run; mode cot or direct',
    )
    .option(
      '--model <id>',
      'a Hugging Face model id, org/name[@revision]: like --model-dir on its snapshot in the Hugging Face cache (downloaded first when missing)',
    )
    .addOption(
      new Option(
        '--mode <mode>',
        "latent thoughts, written CoT (shows the trace), or direct (default: the run's eval.mode; cot for --model-dir)",
      ).choices(['latent', 'cot', 'direct']),
    )
    .option(
      '--show-latents',
      'latent mode: for each latent thought, the vocabulary tokens its hidden state is nearest to in every pass, and how much each Jacobi iteration moved it',
    )
    .option('--top-tokens <k>', 'tokens shown per latent and pass with --show-latents', '3')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        question: string,
        flags: {
          checkpoint?: string;
          modelDir?: string;
          model?: string;
          mode?: 'latent' | 'cot' | 'direct';
          json?: boolean;
          plugin?: string[];
          backend?: (typeof BACKENDS)[number];
          showLatents?: boolean;
          topTokens: string;
        } & KvBudgetFlags,
      ) => {
        if (question.trim() === '') throw new ConfigError('kava infer: the question is empty');
        const topK = flags.showLatents ? positiveFlag('--top-tokens', flags.topTokens) : undefined;
        const run = await loadModelFromFlags('infer', flags);
        try {
          const mode = answerMode('infer', run, flags.mode);
          applyKvBudget(run, flags, mode, 'infer');
          if (topK !== undefined && mode !== 'latent')
            throw new ConfigError(`kava infer --show-latents: needs latent mode, but the mode is "${mode}"`);
          // The lifecycle hooks docs/hooks.md lists for kava infer: runStart and runEnd (kind "infer").
          const { maxQuestionTokens } = run.resolved.config.train;
          const dropped = droppedQuestionTokens(run.model.tokenizer, question, { maxQuestionTokens });
          if (dropped > 0)
            process.stderr.write(
              `note: the question is longer than train.maxQuestionTokens (${maxQuestionTokens}, the limit the model trained with): its first ${dropped} tokens are not read; raise it with --set train.maxQuestionTokens=N\n`,
            );
          const { hooks } = run.resolved.plugins;
          const runInfo = { runDir: run.runDir, config: run.resolved.config, kind: 'infer' as const };
          await hooks.runStart.promise(runInfo);
          const result = await infer(
            run.model,
            question,
            strategyFor(
              run.model,
              run.resolved.config,
              mode,
              topK === undefined ? undefined : { topK },
              'rollout',
              run.resolved.plugins.registry,
            ),
          );
          const { forwardPasses, generatedTokens, kvEntries, peakKvEntries } = result;
          await hooks.runEnd.promise(runInfo, {
            steps: run.step,
            metrics: { forwardPasses, generatedTokens, kvEntries },
          });
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ mode, ...result }, null, 2)}\n`);
            return;
          }
          if (result.trace !== undefined) process.stdout.write(`trace: ${result.trace}\n`);
          if (result.latents) process.stdout.write(formatLatents(result.latents, run.resolved.config.latent));
          process.stdout.write(
            `answer: ${result.answerText || '(empty: the model ended without writing an answer; a short run may not have learnt to yet)'}\n`,
          );
          process.stdout.write(`number: ${result.answer ?? '(none)'}\n`);
          process.stdout.write(
            `cost: ${result.forwardPasses} forward passes, ${result.generatedTokens} generated tokens, ${result.kvEntries} KV entries held (mode ${mode}${peakKvEntries === undefined ? '' : `; KV budget ${run.resolved.config.eval.kvBudget}, peak ${peakKvEntries} entries`})\n`,
          );
        } finally {
          run.model.dispose();
        }
      },
    );
}

const percent = (x: number) => `${Math.round(100 * x)}%`;

/** The latent readings as lines: per latent, the nearest tokens in each pass, then how far each iteration moved it. */
export function formatLatents(latents: readonly LatentReading[], settings: KavaConfig['latent']): string {
  const { jacobi, count, iterations } = latentPlan(settings);
  const head = jacobi
    ? `latent thoughts (M = ${count}, Jacobi, T = ${iterations}): nearest tokens of each latent's hidden state (LM head) after iterations 1..${iterations} and the final pass; "moved": how far each next pass moved the latent's input, ‖e⁽ᵗ⁾ − e⁽ᵗ⁻¹⁾‖ / ‖e⁽ᵗ⁻¹⁾‖ (the first pass reads the <latent> placeholder's embedding, so the first change can be many times 100 %; small late changes mean the iterations converged)`
    : `latent thoughts (M = ${count}, autoregressive): nearest tokens of each latent's hidden state (LM head)`;
  const lines = latents.map((z) => {
    const passes = z.passes
      .map((p, i) => {
        const label = jacobi ? (i < z.passes.length - 1 ? `t${i + 1}` : 'final') : '';
        return `${label ? `${label} ` : ''}${p.top.map((t) => `${JSON.stringify(t.token)} ${percent(t.p)}`).join(', ')}`;
      })
      .join('  |  ');
    const moved = jacobi && z.inputChange.length ? `  ; moved ${z.inputChange.map(percent).join(', ')}` : '';
    return `  z${z.latent}: ${passes}${moved}`;
  });
  return `${[head, ...lines].join('\n')}\n`;
}
