import { Option, type Command } from 'commander';
import { BACKENDS, resolveConfig, type KavaConfigInput, type ResolvedConfig } from '@kava/core';

/** Options every command that reads the configuration accepts. */
export interface CommonOptions {
  config?: string;
  preset?: string[];
  backend?: (typeof BACKENDS)[number];
  plugin?: string[];
  verbose?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file (default: search for kava.config.*, .kavarc*, package.json#kava)')
    .option('-p, --preset <names>', 'preset(s) to apply, comma-separated or repeated, e.g. tiny-llama,kava', collect)
    .addOption(new Option('-b, --backend <name>', 'tensor backend').choices([...BACKENDS]))
    .option('--plugin <spec>', 'load an extra plugin (npm name or path), repeatable', collect);
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
