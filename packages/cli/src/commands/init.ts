import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, resolveConfig, type KavaConfig } from '@kava/core/app';
import { BUILTIN_PLUGINS, DEFAULT_PRESETS } from '../builtin-plugins.js';
import { PLUGIN_KINDS, writePluginPackage } from './init-plugin.js';

/** A value as it would be written in the file (single-quoted strings, compact objects). */
const literal = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/"([A-Za-z_$][\w$]*)":/g, '$1: ')
    .replace(/":/g, '": ')
    .replace(/"/g, "'")
    .replace(/,(?=\S)/g, ', ')
    .replace(/\{(?=\S)/g, '{ ')
    .replace(/(?<=\S)\}/g, ' }');

/** `<prefix>key: value,` for each key of `section` in `keys`. */
function lines(section: Record<string, unknown>, keys: readonly string[], prefix: string): string[] {
  return keys.map((k) => `${prefix}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${literal(section[k])},`);
}

/** A commented-out section: uncommenting it whole (or any of its lines) changes nothing either. */
function block(name: string, section: Record<string, unknown>, keys: readonly string[]): string[] {
  return [`  // ${name}: {`, ...lines(section, keys, '  //   '), '  // },'];
}

/**
 * The starter config: every commonly changed key, commented out, with the value the default run
 * uses (the default presets applied), so the file changes nothing until it is edited and
 * uncommenting a line changes nothing either. Built from the resolved defaults, not written by
 * hand, so it cannot drift from them.
 */
export function starterConfig(config: KavaConfig, presets: readonly string[]): string {
  return [
    '// KaVa configuration. Everything below is commented out: this file changes nothing until you edit it.',
    `// The values shown are those of the default run: preset ${presets.join(',')} (a small model trained from`,
    '// scratch on the built-in synthetic task, sized for a CPU), method kava.',
    '// Reference: docs/configuration.md. Configuration in force: `kava config --print`.',
    '// Precedence: built-in defaults < presets < this file < command-line flags.',
    '',
    "/** @type {import('@kava/core').KavaConfigInput} */",
    'export default {',
    '  // Presets (run recipes), by kind: a backbone (tiny-llama, tiny-qwen; llama-1b, llama-3b, qwen-0.5b',
    "  // apply LoRA and the paper's Table 6 settings and need backbone.modelDir), a method (kava, codi,",
    '  // pccot, full-cot, no-cot), data (synthetic, gsm8k-aug, gsm8k-aug-nl). Name them here, never as',
    '  // backbone.preset. A kind left out takes its default (backbone: tiny-llama).',
    `  // preset: '${presets.join(',')}',`,
    '',
    '  // Tensor backend: auto | tensorflow-gpu | tensorflow | wasm | cpu.',
    ...lines(config as unknown as Record<string, unknown>, ['backend'], '  // '),
    '',
    '  // Extra plugins: npm package names or paths relative to this file.',
    ...lines(config as unknown as Record<string, unknown>, ['plugins'], '  // '),
    '',
    '  // A local Hugging Face model directory, for llama-1b / llama-3b / qwen-0.5b.',
    ...block('backbone', config.backbone, ['modelDir', 'lora']),
    '',
    '  // Training data: null = the built-in synthetic task. Formats: auto, gsm8k, gsm8k-aug, icot, ...',
    ...block('data', config.data, ['format', 'train', 'test', 'trace', 'dropLastStep', 'skipInvalid']),
    '',
    ...block('latent', config.latent, ['count', 'mode', 'iterations', 'projection']),
    '',
    '  // Swap the eviction strategy here: rkv, rkv-decoding, keydiff, attention, random, first,',
    '  // uniform, recent, knorm, or a scorer from a plugin listed above (`kava plugins` lists them).',
    ...block('compression', config.compression, ['scorer', 'options']),
    '',
    ...block('losses', config.losses, Object.keys(config.losses)),
    '',
    ...block('train', config.train, [
      'steps',
      'epochs',
      'batchSize',
      'microBatchSize',
      'lr',
      'weightDecay',
      'teacherWarmup',
      'seed',
      'out',
    ]),
    '',
    ...block('eval', config.eval, ['mode', 'limit']),
    '};',
    '',
  ].join('\n');
}

export function initCommand(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented starter kava.config.mjs in the current folder (changes nothing until edited); with --plugin, a new plugin package',
    )
    .argument('[name]', 'with --plugin: the npm package name of the plugin (e.g. kava-plugin-my-scorer)')
    .option('--force', 'overwrite an existing kava.config.mjs')
    .option('--plugin <kind>', `scaffold a plugin package in ./<name> instead (kinds: ${PLUGIN_KINDS.join(', ')})`)
    .action(async (name: string | undefined, options: { force?: boolean; plugin?: string }) => {
      if (options.plugin !== undefined) {
        const dir = await writePluginPackage(options.plugin, name, process.cwd());
        process.stdout.write(`wrote ${dir}\nnext: cd ${dir} && npm install && npm test\n`);
        return;
      }
      if (name !== undefined)
        throw new ConfigError(`init: unexpected argument "${name}" (a name is only taken with --plugin <kind>)`);
      const file = resolve('kava.config.mjs');
      if (existsSync(file) && !options.force)
        throw new ConfigError(`${file} already exists (pass --force to overwrite it)`);
      const defaults = await resolveConfig({
        ignoreConfigFiles: true,
        defaultPresets: DEFAULT_PRESETS,
        builtinPlugins: BUILTIN_PLUGINS,
      });
      writeFileSync(file, starterConfig(defaults.config, defaults.presets));
      process.stdout.write(
        `wrote ${file} (every key commented out; the default run uses preset ${defaults.presets.join(',')})\n`,
      );
    });
}
