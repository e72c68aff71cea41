import type { Command } from 'commander';
import {
  diagnose,
  hubCachePath,
  listCachedDatasets,
  listCachedModels,
  loadPlugins,
  type DoctorSection,
} from '@kava/core/app';
import { BUILTIN_PLUGINS } from '../builtin-plugins.js';

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

/**
 * The models of the Hugging Face cache that `--model ID` can name (and whether a built-in family
 * reads them), and the datasets `--data hf:ID` can.
 */
async function cachedModelsSection(): Promise<DoctorSection> {
  const cache = await hubCachePath();
  const where = {
    name: 'cache',
    status: 'info' as const,
    detail: `${cache} (--model ORG/NAME and --data hf:ORG/NAME read it)`,
  };
  const models = (detail: string) => ({ name: 'models', status: 'info' as const, detail });
  let rows: DoctorSection['checks'];
  try {
    const { registry } = await loadPlugins([], { builtins: BUILTIN_PLUGINS });
    const readable = new Set(registry.list('backbone').flatMap((b) => b.family.modelTypes));
    rows = (await listCachedModels(cache)).map((m) => ({
      name: m.ids[0]!,
      status: 'info' as const,
      detail: `${m.modelType ?? 'no model_type'}${m.modelType && readable.has(m.modelType) ? '' : ' (no loaded backbone family reads it)'}, ${(m.size / 2 ** 20).toFixed(1)} MiB${m.ids.length > 1 ? `; also ${m.ids.slice(1).join(', ')}` : ''}`,
    }));
    if (!rows.length) rows = [models('none (kava download ORG/NAME adds one)')];
    for (const d of await listCachedDatasets(cache))
      rows.push({
        name: d.ids[0]!,
        status: 'info' as const,
        detail: `dataset, ${d.dataFiles.length} data file${d.dataFiles.length === 1 ? '' : 's'} (${d.dataFiles.slice(0, 3).join(', ')}${d.dataFiles.length > 3 ? ', …' : ''}), ${(d.size / 2 ** 20).toFixed(1)} MiB${d.ids.length > 1 ? `; also ${d.ids.slice(1).join(', ')}` : ''}`,
      });
  } catch (error) {
    rows = [models(`could not read the cache: ${(error as Error).message}`)];
  }
  return { title: 'Hugging Face cache', checks: [where, ...rows] };
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'what this machine offers: backends, native kernels and their BLAS, threads, memory, GPU libraries; each missing piece with its fix',
    )
    .option('--json', 'print the findings as JSON')
    .action(async (flags: { json?: boolean }) => {
      const sections = [...(await diagnose()), await cachedModelsSection()];
      process.stdout.write(flags.json ? `${JSON.stringify(sections, null, 2)}\n` : formatDoctor(sections));
    });
}
