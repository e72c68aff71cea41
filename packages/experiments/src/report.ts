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
  /**
   * Against each reference method: the difference, its interval, per seed, on the seeds both have;
   * null when they share no seed, or were scored on different questions (not comparable pairwise).
   */
  against: Record<string, (Interval & { perSeed: number[]; seeds: number[] }) | null>;
  /** Its place by mean accuracy (methods with the same mean share a rank). */
  rank: number;
}

/** The report as data (report.json) and as Markdown (report.md). */
export interface GridReport {
  experiment: string;
  stage: string;
  /** The reference methods, in the grid file's order (the report's difference columns). */
  against: string[];
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
        return {
          method,
          seeds: rs.map((r) => r.seed),
          accuracies,
          mean: mean(accuracies),
          std: std(accuracies),
          against,
          rank: 0,
        };
      })
      .filter((r): r is MethodRow => r !== null)
      .sort((a, b) => b.mean - a.mean);
    // Competition ranking: equal means share a rank (1, 2, 2, 4).
    rows.forEach((row, i) => (row.rank = i > 0 && row.mean === rows[i - 1]!.mean ? rows[i - 1]!.rank : i + 1));
    return { trace, rows };
  });
  const before = runs.filter((r) => r.stage !== stage && has(r)).map((r) => current.get(r.id)!);
  return {
    experiment: grid.name,
    stage,
    against: grid.report.against,
    tables,
    startingPoints: before.map((r) => ({ id: r.id, accuracy: r.accuracy })),
    missing: runs.filter((r) => !has(r)).map((r) => r.id),
  };
}

/**
 * a − b on the seeds both have, seeds and questions resampled; null when they share no seed or
 * were scored on different numbers of questions (a pairing question by question needs the same).
 */
function difference(a: readonly RunRecord[], b: readonly RunRecord[]): MethodRow['against'][string] {
  const seeds = a.map((r) => r.seed).filter((s) => b.some((o) => o.seed === s));
  if (!seeds.length) return null;
  const scores = (rs: readonly RunRecord[]) =>
    seeds.map((s) => [...rs.find((r) => r.seed === s)!.perQuestion].map(Number));
  const [sa, sb] = [scores(a), scores(b)];
  const n = sa[0]!.length;
  if ([...sa, ...sb].some((x) => x.length !== n)) return null;
  return { ...seedQuestionBootstrap(sa, sb), seeds };
}

const pct = (x: number) => (x * 100).toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

/** The report as Markdown. */
export function reportMarkdown(report: GridReport): string {
  const lines = [`# ${report.experiment}: ${report.stage}`, ''];
  for (const { trace, rows } of report.tables) {
    const refs = report.against.filter((ref) => rows.some((r) => ref in r.against));
    if (trace) lines.push(`## ${trace} traces`, '');
    lines.push(
      `| rank | method | accuracy (mean ± std) | per seed |${refs.map((r) => ` − ${r} [95 % interval] |`).join('')}`,
      `| --- | --- | --- | --- |${refs.map(() => ' --- |').join('')}`,
    );
    for (const row of rows) {
      const perSeed = row.seeds.map((s, j) => `${s}: ${pct(row.accuracies[j]!)}`).join(', ');
      const cells = refs.map((ref) => {
        const d = row.against[ref];
        if (d === undefined) return '';
        if (d === null) return '– (no shared seed, or other questions)';
        // Fewer shared seeds than the row has: say on which the difference stands.
        const on = d.seeds.length < row.seeds.length ? ` (seed ${d.seeds.join(', ')})` : '';
        return `${signed(d.diff)} [${signed(d.lo)}, ${signed(d.hi)}]${on}`;
      });
      const spread = row.seeds.length > 1 ? ` ± ${pct(row.std)}` : '';
      lines.push(
        `| ${row.rank} | ${row.method} | ${pct(row.mean)}${spread} (${row.seeds.length} seed${row.seeds.length === 1 ? '' : 's'}) | ${perSeed} |${cells.map((c) => ` ${c} |`).join('')}`,
      );
    }
    lines.push('');
  }
  lines.push(
    'Differences are in points of held-out accuracy, on the seeds both methods have; the interval resamples seeds, then questions (two-level paired bootstrap, 10,000 draws; with one shared seed, questions only). A method with fewer seeds than the others is ranked on those it has.',
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
