// The report of a grid: for the compared stage, per trace style, each method's held-out accuracy
// over the seeds, ranked, and its difference from each reference method with a seed-aware 95 %
// interval (seeds and questions resampled, on the seeds both have). Made from the records alone,
// so any machine remakes it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextAtomic } from '@kava/core/app';
import type { Grid } from './grid-file.js';
import type { PlannedRun } from './plan.js';
import { type Interval, mean, seedQuestionBootstrap, std } from './stats.js';
import type { RunRecord } from './store.js';

/** One method's row of a report table. */
export interface MethodRow {
  method: string;
  seeds: number[];
  accuracies: number[];
  mean: number;
  std: number;
  /** Against each reference method: the difference, its interval, per seed, on the seeds both have. */
  against: Record<string, (Interval & { perSeed: number[]; seeds: number[] }) | null>;
}

/** The report as data (report.json) and as Markdown (report.md). */
export interface GridReport {
  experiment: string;
  stage: string;
  tables: { trace: string | null; rows: MethodRow[] }[];
  /** Runs of the stages before the compared one (e.g. the CoT backbones) with their accuracy. */
  startingPoints: { id: string; accuracy: number }[];
  /** Planned runs with no record yet. */
  missing: string[];
}

/** The report of `grid` from `records` (those of other settings are left out as missing). */
export function makeReport(grid: Grid, runs: readonly PlannedRun[], records: readonly RunRecord[]): GridReport {
  const current = new Map(records.map((r) => [r.id, r]));
  const has = (run: PlannedRun) => current.get(run.id)?.settings === run.settings;
  const stage = grid.report.stage ?? grid.stages.at(-1)!.name;
  const compared = runs.filter((r) => r.stage === stage);
  const traces = [...new Set(compared.map((r) => r.trace))];
  const methods = [...new Set(compared.map((r) => r.method))];
  const recordsOf = (method: string, trace: string | null) =>
    compared
      .filter((r) => r.method === method && r.trace === trace && has(r))
      .map((r) => current.get(r.id)!)
      .sort((a, b) => a.seed - b.seed);
  const tables = traces.map((trace) => {
    const rows = methods
      .map((method): MethodRow | null => {
        const rs = recordsOf(method, trace);
        if (!rs.length) return null;
        const accuracies = rs.map((r) => r.accuracy);
        const against = Object.fromEntries(
          grid.report.against
            .filter((ref) => ref !== method)
            .map((ref) => [ref, difference(rs, recordsOf(ref, trace))]),
        );
        return { method, seeds: rs.map((r) => r.seed), accuracies, mean: mean(accuracies), std: std(accuracies), against };
      })
      .filter((r): r is MethodRow => r !== null)
      .sort((a, b) => b.mean - a.mean);
    return { trace, rows };
  });
  const before = runs.filter((r) => r.stage !== stage && has(r)).map((r) => current.get(r.id)!);
  return {
    experiment: grid.name,
    stage,
    tables,
    startingPoints: before.map((r) => ({ id: r.id, accuracy: r.accuracy })),
    missing: runs.filter((r) => !has(r)).map((r) => r.id),
  };
}

/** a − b on the seeds both have, seeds and questions resampled; null when they share no seed. */
function difference(a: readonly RunRecord[], b: readonly RunRecord[]): MethodRow['against'][string] {
  const seeds = a.map((r) => r.seed).filter((s) => b.some((o) => o.seed === s));
  if (!seeds.length) return null;
  const scores = (rs: readonly RunRecord[]) =>
    seeds.map((s) => [...rs.find((r) => r.seed === s)!.perQuestion].map(Number));
  const [sa, sb] = [scores(a), scores(b)];
  const n = Math.min(...sa.map((x) => x.length), ...sb.map((x) => x.length));
  const cut = (xs: number[][]) => xs.map((x) => x.slice(0, n));
  return { ...seedQuestionBootstrap(cut(sa), cut(sb)), seeds };
}

const pct = (x: number) => (x * 100).toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

/** The report as Markdown. */
export function reportMarkdown(report: GridReport): string {
  const lines = [`# ${report.experiment}: ${report.stage}`, ''];
  for (const { trace, rows } of report.tables) {
    const refs = [...new Set(rows.flatMap((r) => Object.keys(r.against)))];
    if (trace) lines.push(`## ${trace} traces`, '');
    lines.push(
      `| rank | method | accuracy (mean ± std) | per seed |${refs.map((r) => ` − ${r} [95 % interval] |`).join('')}`,
      `| --- | --- | --- | --- |${refs.map(() => ' --- |').join('')}`,
    );
    rows.forEach((row, i) => {
      const perSeed = row.seeds.map((s, j) => `${s}: ${pct(row.accuracies[j]!)}`).join(', ');
      const cells = refs.map((ref) => {
        const d = row.against[ref];
        if (d === undefined) return '';
        if (d === null) return '– (no shared seed)';
        return `${signed(d.diff)} [${signed(d.lo)}, ${signed(d.hi)}]`;
      });
      lines.push(
        `| ${i + 1} | ${row.method} | ${pct(row.mean)} ± ${pct(row.std)} (${row.seeds.length} seed${row.seeds.length === 1 ? '' : 's'}) | ${perSeed} |${cells.map((c) => ` ${c} |`).join('')}`,
      );
    });
    lines.push('');
  }
  lines.push(
    'Differences are in points of held-out accuracy, on the seeds both methods have; the interval resamples seeds, then questions (two-level paired bootstrap, 10,000 draws).',
    '',
  );
  if (report.startingPoints.length)
    lines.push(`Starting points: ${report.startingPoints.map((s) => `${s.id} ${pct(s.accuracy)} %`).join(', ')}.`, '');
  if (report.missing.length) lines.push(`Not yet run: ${report.missing.join(', ')}.`, '');
  return `${lines.join('\n')}`;
}

/** Writes report.md and report.json into `dir`; returns their paths. */
export function writeReport(report: GridReport, dir: string): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const markdown = join(dir, 'report.md');
  const json = join(dir, 'report.json');
  writeTextAtomic(markdown, reportMarkdown(report));
  writeTextAtomic(json, `${JSON.stringify(report, null, 1)}\n`);
  return { markdown, json };
}
