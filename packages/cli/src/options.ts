import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  BACKENDS,
  ConfigError,
  assignmentsLayer,
  mergeConfigs,
  resolveConfig,
  type KavaConfigInput,
  type ResolvedConfig,
  type RunPlugins,
} from '@kava/core/app';
import { BUILTIN_PLUGINS, DEFAULT_PRESETS } from './builtin-plugins.js';
import { downloadProgress } from './download-progress.js';

/** Options every command that reads the configuration accepts. */
export interface CommonOptions {
  config?: string;
  preset?: string[];
  backend?: (typeof BACKENDS)[number];
  plugin?: string[];
  verbose?: boolean;
  set?: string[];
}

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--plugin SPEC`, repeatable: for commands that load a run rather than resolve a config. */
export function addPluginOption(command: Command): Command {
  return command.option('--plugin <spec>', 'load an extra plugin (npm name or path), repeatable', collect);
}

/** `--set key=value`, repeatable: one setting by its dotted path, on top of file and presets. */
export function addSetOption(command: Command): Command {
  return command.option(
    '--set <key=value>',
    'change one setting by its dotted path, typed by the schema (e.g. --set train.lr=1e-4 --set compression.scorer=keydiff), repeatable',
    collect,
  );
}

/** The `--set` assignments as a config layer (paths in them from the current folder). */
export function setLayer(options: { set?: string[] }): KavaConfigInput {
  return assignmentsLayer(options.set ?? []);
}

/** `--backend NAME` for commands that load a run (eval, infer, export): overrides the run's own backend. */
export function addBackendOption(command: Command): Command {
  return command.addOption(
    new Option('-b, --backend <name>', "tensor backend (default: the run's)").choices([...BACKENDS]),
  );
}

/** `--plugin` values with relative paths made absolute from the current folder. */
export function pluginSpecs(options: { plugin?: string[] }): string[] {
  return (options.plugin ?? []).map((p) => (p.startsWith('.') ? resolve(p) : p));
}

/** The plugins a command that loads a run adds to the run's own: the built-ins and `--plugin`. */
export function runPlugins(options: { plugin?: string[] }): RunPlugins {
  return { builtinPlugins: BUILTIN_PLUGINS, extraPluginSpecs: pluginSpecs(options) };
}

/** A positive number flag (integer unless `integer` is false), or undefined when absent. */
export function positiveFlag(flag: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new ConfigError(
      `${flag}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** The text of a flag, refused when empty or blank: `--question ""` would run on nothing and succeed. */
export function textFlag(flag: string, value: string, what: string): string {
  if (value.trim() === '') throw new ConfigError(`${flag}: expected ${what}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A file `flag` names for writing, resolved from the current folder. Refused before any work when
 * its folder is missing or it names a folder, rather than as a bare ENOENT once the work is done.
 */
export function outputFileFlag(flag: string, value: string): string {
  const file = resolve(value);
  const folder = dirname(file);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new ConfigError(
      `${flag} ${value}: the folder ${folder} does not exist; create it, or write the file elsewhere`,
    );
  if (existsSync(file) && statSync(file).isDirectory())
    throw new ConfigError(`${flag} ${value}: ${file} is a folder; name a file to write`);
  return file;
}

export function addCommonOptions(command: Command): Command {
  const withPresets = command
    .option(
      '-c, --config <file>',
      'configuration file (default: search for kava.config.*, .kavarc*, package.json#kava)',
    )
    .option('-p, --preset <names>', 'preset(s) to apply, comma-separated or repeated, e.g. tiny-llama,kava', collect)
    .addOption(new Option('-b, --backend <name>', 'tensor backend').choices([...BACKENDS]));
  return addSetOption(addPluginOption(withPresets));
}

/**
 * Resolves the configuration with the command's flags on top. The one path every command takes
 * (`kava config --print`, `kava train` with or without `--dry-run`, `kava compress`), so what one
 * prints is what another runs: the same default presets, file search and layering.
 */
export async function resolveFromOptions(
  options: CommonOptions,
  overrides: KavaConfigInput = {},
): Promise<ResolvedConfig> {
  // --set first, so the named flags (--steps, --backend, ...) win where both set one key.
  const layer = mergeConfigs(setLayer(options), overrides) as KavaConfigInput;
  if (options.backend) layer.backend = options.backend;
  return resolveConfig({
    configFile: options.config ?? null,
    presets: options.preset ?? [],
    overrides: layer,
    extraPluginSpecs: options.plugin ?? [],
    builtinPlugins: BUILTIN_PLUGINS,
    defaultPresets: DEFAULT_PRESETS,
    hubProgress: downloadProgress('Hugging Face hub'),
  });
}

/** Which presets and config file made the configuration: one line, the same for every command. */
export function describeResolution(resolved: ResolvedConfig): string {
  const named = resolved.presets.map((p) => (resolved.defaultedPresets.includes(p) ? `${p} (default)` : p));
  return `presets: ${named.join(', ') || '(none)'}; config file: ${resolved.file ?? '(none found; built-in defaults)'}`;
}

/** The resolved configuration as `kava config --print` and `kava train --dry-run` both print it. */
export function resolvedJson(resolved: ResolvedConfig): string {
  return `${JSON.stringify(resolved.config, null, 2)}\n`;
}
