import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@kava/core';
import { PLUGIN_KINDS, writePluginPackage } from './init-plugin.js';

/** The starter config: every commonly changed key, commented, with its default. */
export const STARTER_CONFIG = `// KaVa configuration. Every key is optional; the values shown are the defaults.
// Reference: docs/configuration.md. Resolved config: \`kava config --print\`.
// Precedence: built-in defaults < presets < this file < command-line flags.

/** @type {import('@kava/core').KavaConfigInput} */
export default {
  // Presets applied under this file: a backbone (tiny-llama, tiny-qwen, llama-1b, llama-3b,
  // qwen-0.5b), a method (kava, codi, pccot, full-cot, no-cot), a data preset (synthetic,
  // gsm8k-aug, gsm8k-aug-nl).
  // preset: 'tiny-llama,kava,synthetic',

  // Tensor backend: auto | tensorflow-gpu | tensorflow | wasm | cpu.
  backend: 'auto',

  // Extra plugins: npm package names or paths relative to this file.
  plugins: [],

  backbone: {
    preset: 'tiny-llama',
    // A local Hugging Face model directory, for llama-1b / llama-3b / qwen-0.5b.
    modelDir: null,
    lora: { enabled: false, rank: 128, alpha: 32, dropout: 0.1 },
  },

  data: {
    format: 'auto',       // or gsm8k, gsm8k-aug, icot, synthetic, ...
    train: null,          // null = the built-in synthetic task
    test: null,
    trace: 'equation',    // or 'nl'
    dropLastStep: true,
  },

  latent: { count: 24, mode: 'jacobi', iterations: 3, projection: true },

  // Swap the eviction strategy here: rkv, rkv-decoding, keydiff, attention, random, first,
  // uniform, recent, knorm, or a scorer from a plugin listed above (\`kava plugins\` lists them).
  compression: { scorer: 'rkv', options: {} },

  losses: {
    'teacher-ce': { weight: 1 },
    'student-ce': { weight: 1 },
    codi: { weight: 10 },
    kv: { weight: 1, type: 'smooth-l1', layerwiseStd: true },
  },

  train: { epochs: 10, batchSize: 128, microBatchSize: 8, lr: 8e-4, weightDecay: 0.1, seed: 0, out: 'runs' },

  eval: { mode: 'latent' },
};
`;

export function initCommand(program: Command): void {
  program
    .command('init')
    .description('write a commented starter kava.config.mjs in the current folder; with --plugin, a new plugin package')
    .argument('[name]', 'with --plugin: the npm package name of the plugin (e.g. kava-plugin-my-scorer)')
    .option('--force', 'overwrite an existing kava.config.mjs')
    .option('--plugin <kind>', `scaffold a plugin package in ./<name> instead (kinds: ${PLUGIN_KINDS.join(', ')})`)
    .action((name: string | undefined, options: { force?: boolean; plugin?: string }) => {
      if (options.plugin !== undefined) {
        const dir = writePluginPackage(options.plugin, name, process.cwd());
        process.stdout.write(`wrote ${dir}\nnext: cd ${dir} && npm install && npm test\n`);
        return;
      }
      if (name !== undefined) throw new ConfigError(`init: unexpected argument "${name}" (a name is only taken with --plugin <kind>)`);
      const file = resolve('kava.config.mjs');
      if (existsSync(file) && !options.force) throw new ConfigError(`${file} already exists (pass --force to overwrite it)`);
      writeFileSync(file, STARTER_CONFIG);
      process.stdout.write(`wrote ${file}\n`);
    });
}
