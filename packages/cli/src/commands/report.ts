import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@kava/core/app';
import { writeReport } from '../report/write-report.js';
import { writeComparison } from '../report/compare-runs.js';

export function reportCommand(program: Command): void {
  program
    .command('report')
    .argument('<runs...>', 'run directory; two or more are compared')
    .option(
      '--out <dir>',
      'folder for comparison.svg and comparison.md when comparing runs (default: the current folder)',
    )
    .description(
      'loss curves and evaluations over training as an SVG image and a short text summary (in the run folder); with several runs, their curves overlaid and a table of how each ended',
    )
    .action(async (runs: string[], flags: { out?: string }) => {
      // One run's report lives in its folder (kava train writes it there too); --out is the comparison's.
      if (runs.length === 1 && flags.out !== undefined)
        throw new ConfigError(
          `kava report: --out is for comparing two or more runs; the report of one run is written into its folder (${runs[0]})`,
        );
      const report =
        runs.length === 1 ? await writeReport(runs[0]!) : await writeComparison(runs, resolve(flags.out ?? '.'));
      process.stdout.write(report.text);
      process.stdout.write(`\nimage: ${report.image}\nsummary: ${report.summary}\n`);
    });
}
