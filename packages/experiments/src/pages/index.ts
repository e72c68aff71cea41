// The replication's pages as report kinds: a grid file with `report.kind: replication`, `study`
// or `probe` writes its page of docs/results (and the block of results.md it keeps current)
// instead of the ranking's report.md.
import { dirname } from 'node:path';
import type { Grid } from '../grid-file.js';
import type { PlannedRun } from '../plan.js';
import type { ResultsStore } from '../store.js';
import type { PageInput } from './common.js';
import type { RenderSvg } from './method-table.js';
import { writeReplicationPage } from './replication.js';
import { writeStudyPage } from './study.js';

export { foldInto, type PageInput, readResults, writeResultsJson } from './common.js';
export { type MethodCell, methodBars, methodTable, type RenderSvg } from './method-table.js';
export { otherBuilds, replicationPageName, writeReplicationPage } from './replication.js';
export { chooseRecipes, compare, type Comparison, isLatent, writeStudyPage } from './study.js';

/**
 * The page of a grid whose report.kind is not `ranking`, from its records; the files written.
 * The compared stage's methods, the grid's trace styles and seeds say what the page covers.
 */
export async function writeGridPage(
  grid: Grid,
  runs: readonly PlannedRun[],
  store: ResultsStore,
  options: { reportDir: string; wallMinutes: number; render: RenderSvg; print: (text: string) => void },
): Promise<string[]> {
  const stage = grid.report.stage ?? grid.stages.at(-1)!.name;
  const compared = runs.filter((r) => r.stage === stage);
  const backbone = runs.find((r) => grid.stages.find((s) => s.name === r.stage && !s.methods));
  const input: PageInput = {
    experiment: grid.name,
    records: store.all(),
    backboneMethod: backbone?.method ?? '',
    // The grid file's order of the methods (the runs are planned trace by trace).
    methods: Object.keys(grid.stages.find((s) => s.name === stage)?.methods ?? {}).filter((m) =>
      compared.some((r) => r.method === m),
    ),
    traces: [...new Set(compared.map((r) => r.trace ?? 'all'))],
    seeds: grid.seeds,
    reportDir: options.reportDir,
    resultsDir: grid.results,
    runsRoot: dirname(grid.results),
    wallMinutes: options.wallMinutes,
    render: options.render,
    print: options.print,
  };
  switch (grid.report.kind) {
    case 'replication':
      return writeReplicationPage(input);
    case 'study':
    case 'probe':
      return writeStudyPage(input, grid.report.kind === 'probe');
    default:
      throw new Error(`writeGridPage: report.kind ${grid.report.kind} is not a page`);
  }
}
