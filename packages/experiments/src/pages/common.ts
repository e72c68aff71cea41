// What the replication's pages share: their input, the records of a results folder, the block of
// docs/results.md a page keeps current, and docs/results.json.
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextAtomic } from '@kava/core/app';
import { ResultsStore, type RunRecord } from '../store.js';
import type { RenderSvg } from './method-table.js';

/** What a page is made from: the records alone, and where it goes. */
export interface PageInput {
  /** The experiment (the grid's name): the page is results-<experiment>.md. */
  experiment: string;
  /** Every record the page reads: the grid's folder's, and the records it shares with another grid. */
  records: RunRecord[];
  /** The method of the backbone records (the stage without methods), e.g. stage1-full-cot. */
  backboneMethod: string;
  /** The compared methods, traces and seeds, in the grid file's order. */
  methods: string[];
  traces: string[];
  seeds: number[];
  /** The folder of the page, its charts, results.md (whose block it rewrites) and results.json. */
  reportDir: string;
  /** The folder of the grid's records, and the folder of every experiment's (results.json reads them all). */
  resultsDir: string;
  runsRoot: string;
  /** This call's wall time, in minutes (printed on the page's machine line). */
  wallMinutes: number;
  render: RenderSvg;
  /** Where the page says what it wrote. */
  print: (text: string) => void;
}

export const pct = (x: number): string => (x * 100).toFixed(1);
export const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

/** The records of a folder, by file name (none when it does not exist): the results store's reading. */
export const readResults = (dir: string): RunRecord[] => new ResultsStore(dir).all();

/**
 * The records a page reads: the backbones apart, and the compared runs of `seeds` by method and
 * trace style.
 */
export function recordsOf(input: PageInput) {
  const { records: all, backboneMethod, seeds } = input;
  const stage1 = all.filter((r) => r.method === backboneMethod);
  const stage2 = all.filter((r) => r.method !== backboneMethod && seeds.includes(r.seed));
  const runsOf = (method: string, trace: string) => stage2.filter((r) => r.method === method && r.traces === trace);
  return { all, stage1, stage2, runsOf };
}

/** The machine line of a page (what "machine lines aside" sets apart when pages are compared). */
export function machineLine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${loadavg()[0]!.toFixed(1)}`;
}

/** The training time of every record together, in hours. */
export const trainHours = (records: readonly RunRecord[]): number =>
  records.reduce((s, r) => s + (r.trainSeconds ?? 0), 0) / 3600;

/**
 * Replaces what stands between `<!-- <experiment>:begin -->` and `<!-- <experiment>:end -->` in
 * `file` (docs/results.md) with `block`, so its lead table is always the committed results'; the
 * prose around it is written by hand. False when the file or its markers are absent.
 */
export function foldInto(file: string, experiment: string, block: string): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const [begin, end] = [`<!-- ${experiment}:begin`, `<!-- ${experiment}:end -->`];
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  const afterBegin = text.indexOf('-->', a) + 3;
  writeTextAtomic(file, `${text.slice(0, afterBegin)}\n\n${block}\n\n${text.slice(b)}`);
  return true;
}

/**
 * results.json: every record of every experiment under `runsRoot`, machine-readable, without the
 * per-question strings and the settings (they stay in the records).
 */
export function writeResultsJson(runsRoot: string, reportDir: string): void {
  const every = readdirSync(runsRoot)
    // Only folders: a file beside the experiments' folders is not one (it would throw ENOTDIR).
    .filter((e) => !e.startsWith('.') && statSync(join(runsRoot, e)).isDirectory())
    .flatMap((e) => readResults(join(runsRoot, e)));
  const list = every.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('perQuestion') && k !== 'settings')),
  );
  writeTextAtomic(join(reportDir, 'results.json'), `${JSON.stringify(list, null, 1)}\n`);
}
