import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { BACKENDS, ConfigError, resolveConfig, type KavaConfigInput, type ResolvedConfig } from '@kava/core';

/** Options every command that reads the configuration accepts. */
export interface CommonOptions {
  config?: string;
  preset?: string[];
  backend?: (typeof BACKENDS)[number];
  plugin?: string[];
  verbose?: boolean;
}

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--plugin SPEC`, repeatable: for commands that load a run rather than resolve a config. */
export function addPluginOption(command: Command): Command {
  return command.option('--plugin <spec>', 'load an extra plugin (npm name or path), repeatable', collect);
}

/** `--plugin` values with relative paths made absolute from the current folder. */
export function pluginSpecs(options: { plugin?: string[] }): string[] {
  return (options.plugin ?? []).map((p) => (p.startsWith('.') ? resolve(p) : p));
}

/** A positive number flag (integer unless `integer` is false), or undefined when absent. */
export function positiveFlag(flag: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new ConfigError(`${flag}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  return n;
}

export function addCommonOptions(command: Command): Command {
  const withPresets = command
    .option('-c, --config <file>', 'configuration file (default: search for kava.config.*, .kavarc*, package.json#kava)')
    .option('-p, --preset <names>', 'preset(s) to apply, comma-separated or repeated, e.g. tiny-llama,kava', collect)
    .addOption(new Option('-b, --backend <name>', 'tensor backend').choices([...BACKENDS]));
  return addPluginOption(withPresets);
}

/** Resolves the configuration with the command's flags on top. */
export async function resolveFromOptions(options: CommonOptions, overrides: KavaConfigInput = {}, extra: { defaultPresets?: string[] } = {}): Promise<ResolvedConfig> {
  const layer: KavaConfigInput = { ...overrides };
  if (options.backend) layer.backend = options.backend;
  return resolveConfig({
    configFile: options.config ?? null,
    presets: options.preset ?? [],
    overrides: layer,
    extraPluginSpecs: options.plugin ?? [],
    ...(extra.defaultPresets ? { defaultPresets: extra.defaultPresets } : {}),
  });
}
