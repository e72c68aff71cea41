import { Option, type Command } from 'commander';
import { BACKENDS, ConfigError, infer, loadRun, strategyFor } from '@kava/core';
import { addBackendOption, addPluginOption, pluginSpecs } from '../options.js';

export function inferCommand(program: Command): void {
  addBackendOption(addPluginOption(program.command('infer')))
    .description('answer one question with a trained model, and show what it cost')
    .argument('<question>', 'the question')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder or run directory')
    .addOption(new Option('--mode <mode>', 'latent thoughts, written CoT (shows the trace), or direct (default: the run\'s eval.mode)').choices(['latent', 'cot', 'direct']))
    .option('--json', 'print the result as JSON')
    .action(async (question: string, flags: { checkpoint: string; mode?: 'latent' | 'cot' | 'direct'; json?: boolean; plugin?: string[]; backend?: (typeof BACKENDS)[number] }) => {
      if (question.trim() === '') throw new ConfigError('kava infer: the question is empty');
      const run = await loadRun(flags.checkpoint, { extraPluginSpecs: pluginSpecs(flags), ...(flags.backend ? { backend: flags.backend } : {}) });
      try {
        const mode = flags.mode ?? run.resolved.config.eval.mode;
        const result = await infer(run.model, question, strategyFor(run.model, run.resolved.config, mode));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ mode, ...result }, null, 2)}\n`);
          return;
        }
        if (result.trace !== undefined) process.stdout.write(`trace: ${result.trace}\n`);
        process.stdout.write(`answer: ${result.answerText}\n`);
        process.stdout.write(`number: ${result.answer ?? '(none)'}\n`);
        process.stdout.write(`cost: ${result.forwardPasses} forward passes, ${result.generatedTokens} generated tokens, ${result.kvEntries} KV entries held (mode ${mode})\n`);
      } finally {
        run.model.dispose();
      }
    });
}
