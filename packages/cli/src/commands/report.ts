import type { Command } from 'commander';
import { writeReport } from '../report/write-report.js';

export function reportCommand(program: Command): void {
  program
    .command('report')
    .argument('<run>', 'run directory')
    .description('loss curves and evaluations over training as an SVG image, and a short text summary')
    .action(async (run: string) => {
      const report = await writeReport(run);
      process.stdout.write(report.text);
      process.stdout.write(`\nimage: ${report.image}\nsummary: ${report.summary}\n`);
    });
}
