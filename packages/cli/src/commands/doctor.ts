import type { Command } from 'commander';
import { diagnose, type DoctorSection } from '@kava/core/app';

const MARK = { ok: 'ok     ', missing: 'MISSING', info: '       ' } as const;

/** The report as text: one block per section, a fix line under each missing piece. */
export function formatDoctor(sections: readonly DoctorSection[]): string {
  const lines: string[] = [];
  for (const section of sections) {
    lines.push(`${section.title}`);
    for (const check of section.checks) {
      lines.push(`  ${MARK[check.status]} ${check.name.padEnd(18)} ${check.detail}`);
      if (check.fix) lines.push(`  ${' '.repeat(7)} ${' '.repeat(18)} fix: ${check.fix}`);
    }
    lines.push('');
  }
  const missing = sections.flatMap((s) => s.checks).filter((c) => c.status === 'missing').length;
  lines.push(
    missing
      ? `${missing} missing piece(s); each says how to add it. Training works without them, slower or on a smaller model.`
      : 'Everything kava can use is here.',
  );
  return `${lines.join('\n')}\n`;
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'what this machine offers: backends, native kernels and their BLAS, threads, memory, GPU libraries; each missing piece with its fix',
    )
    .option('--json', 'print the findings as JSON')
    .action(async (flags: { json?: boolean }) => {
      const sections = await diagnose();
      process.stdout.write(flags.json ? `${JSON.stringify(sections, null, 2)}\n` : formatDoctor(sections));
    });
}
