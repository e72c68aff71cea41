import type { Command } from 'commander';
import {
  addCommonOptions,
  describeResolution,
  resolvedJson,
  resolveFromOptions,
  type CommonOptions,
} from '../options.js';

export function configCommand(program: Command): void {
  addCommonOptions(program.command('config'))
    .description('show the resolved configuration (defaults < presets < config file < flags)')
    .option('--print', 'print the resolved configuration as JSON (the default action)')
    .action(async (options: CommonOptions) => {
      const resolved = await resolveFromOptions(options);
      process.stdout.write(resolvedJson(resolved));
      process.stderr.write(`# ${describeResolution(resolved)}\n`);
    });
}
