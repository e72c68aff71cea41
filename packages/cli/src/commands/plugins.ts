import type { Command } from 'commander';
import { KINDS, type Kind, type PluginSet } from '@kava/core/app';
import type { ZodType } from 'zod';
import { addCommonOptions, resolveFromOptions, type CommonOptions } from '../options.js';

/** One line per option of a zod object schema: name, default, description. */
function describeOptions(schema: ZodType | undefined): string[] {
  const shape = (schema as unknown as { shape?: Record<string, ZodType> } | undefined)?.shape;
  if (!shape) return [];
  return Object.entries(shape).map(([key, field]) => {
    const def = (field as unknown as { def: { defaultValue?: unknown } }).def;
    const dflt = def.defaultValue === undefined ? '' : ` = ${JSON.stringify(def.defaultValue)}`;
    return `${key}${dflt}${field.description ? `  ${field.description}` : ''}`;
  });
}

export function listPlugins(set: PluginSet): string {
  const lines: string[] = [];
  const owners = ['(core)', ...set.plugins.map((p) => p.name)];
  // One name column for all, as wide as the longest name (expected-attention), so descriptions align.
  const width = Math.max(
    14,
    ...owners
      .flatMap((owner) => Object.values(set.registry.contributions(owner)).flatMap((names) => names ?? []))
      .map((n) => n.length),
  );
  for (const owner of owners) {
    const source = set.plugins.find((p) => p.name === owner)?.source;
    lines.push(
      owner === '(core)' ? '@kava/core (built in)' : `${owner}${source && source !== owner ? `  (${source})` : ''}`,
    );
    const parts = set.registry.contributions(owner);
    for (const kind of KINDS) {
      for (const name of parts[kind as Kind] ?? []) {
        const reg = set.registry.get(kind, name) as { description?: string; options?: ZodType };
        lines.push(`  ${kind.padEnd(8)} ${name.padEnd(width)} ${reg.description ?? ''}`);
        for (const option of describeOptions(reg.options)) lines.push(`  ${' '.repeat(width + 10)}option ${option}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export function pluginsCommand(program: Command): void {
  addCommonOptions(program.command('plugins'))
    .description('list loaded plugins and what each registers (scorers, backbones, losses, datasets, presets)')
    .action(async (options: CommonOptions) => {
      const resolved = await resolveFromOptions(options);
      process.stdout.write(listPlugins(resolved.plugins));
    });
}
