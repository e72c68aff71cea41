import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { BACKENDS, checkExportDir, exportAdapter, loadRun, saveHFModel, writeFolderAtomic } from '@kava/core/app';
import { addBackendOption, addPluginOption, runPlugins } from '../options.js';

/**
 * `kava export RUN --out DIR [--merged]`: a trained run for PyTorch users. By default a PEFT LoRA
 * adapter folder (exportAdapter: adapter, tokenizer with the added tokens, latent projection and
 * settings) for `PeftModel.from_pretrained(base, DIR)`; with `--merged` a complete Hugging Face
 * model directory (config.json, model.safetensors with LoRA folded in, the tokenizer) that
 * `--model-dir` and transformers' `from_pretrained` load. Either folder is written under a
 * temporary name and renamed into place, so an interrupted export never leaves half a folder.
 */
export function exportCommand(program: Command): void {
  addBackendOption(addPluginOption(program.command('export')))
    .description(
      'write a trained run for PyTorch: a PEFT LoRA adapter folder, or with --merged a Hugging Face model directory',
    )
    .argument('<run>', 'run directory or checkpoint folder')
    .requiredOption('-o, --out <dir>', 'the folder to write (must not exist, or be empty)')
    .option('--merged', 'a complete model directory with LoRA merged into the weights (default: a PEFT adapter folder)')
    .option('--force', 'replace an existing --out folder')
    .action(
      async (
        runPath: string,
        flags: {
          out: string;
          merged?: boolean;
          force?: boolean;
          plugin?: string[];
          backend?: (typeof BACKENDS)[number];
        },
      ) => {
        const out = resolve(flags.out);
        checkExportDir(out, flags.force);
        const run = await loadRun(runPath, {
          ...runPlugins(flags),
          ...(flags.backend ? { backend: flags.backend } : {}),
        });
        try {
          if (!flags.merged) {
            const exported = await exportAdapter(run.model, run.resolved.config, out, {
              replace: Boolean(flags.force),
            });
            process.stdout.write(
              `exported ${run.checkpointDir} (step ${run.step}) as a PEFT LoRA adapter for ${run.resolved.config.backbone.modelDir}: ${out}\n`,
            );
            process.stdout.write(`  ${exported.files.join(', ')}\n`);
            process.stdout.write(`  load it in PyTorch: ${join(out, 'README.md')}\n`);
            return;
          }
          await writeFolderAtomic(out, (staging) =>
            saveHFModel(run.model.backbone, staging, run.model.family, run.model.tokenizer),
          );
          const { numLayers, hiddenSize } = run.model.backbone.config;
          process.stdout.write(
            `exported ${run.checkpointDir} (step ${run.step}) as a ${run.model.family.name} model directory: ${out}\n`,
          );
          process.stdout.write(
            `  ${numLayers} layers, hidden ${hiddenSize}, vocabulary ${run.model.tokenizer.vocabSize} (reasoning tokens included)\n`,
          );
          process.stdout.write(`  train from it: kava train --model-dir ${out} ...\n`);
        } finally {
          run.model.dispose();
        }
      },
    );
}
