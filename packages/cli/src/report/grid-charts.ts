// The charts of a grid's report (`kava experiment report`): each method's held-out accuracy, its
// mean over seeds as a bar and each seed as a point, and the mean learning curve of each method.
import { join } from 'node:path';
import { writeTextAtomic } from '@kava/core/app';
import type { GridReport, RunRecord } from '@kava/experiments';
import { renderSvg } from './write-report.js';

/** Writes report.svg (accuracy per method) and curves.svg (accuracy during training) into `dir`. */
export async function writeGridCharts(
  report: GridReport,
  records: readonly RunRecord[],
  dir: string,
): Promise<{ accuracy: string; curves: string }> {
  const trace = (t: string | null) => t ?? 'all';
  const order = report.tables[0]?.rows.map((r) => r.method) ?? [];
  const seeds = report.tables.flatMap((t) =>
    t.rows.flatMap((r) =>
      r.seeds.map((seed, i) => ({ trace: trace(t.trace), method: r.method, seed, accuracy: r.accuracies[i] })),
    ),
  );
  const means = report.tables.flatMap((t) =>
    t.rows.map((r) => ({ trace: trace(t.trace), method: r.method, accuracy: r.mean })),
  );
  const accuracy = await renderSvg({
    title: `${report.experiment}: held-out accuracy (bar: mean over seeds; points: each seed)`,
    facet: { column: { field: 'trace', type: 'nominal', title: null } },
    data: { values: [...means.map((m) => ({ ...m, kind: 'mean' })), ...seeds.map((s) => ({ ...s, kind: 'seed' }))] },
    spec: {
      width: Math.max(120, 40 * order.length),
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'mean'" }],
          mark: 'bar',
          encoding: {
            x: { field: 'method', type: 'nominal', sort: order, title: null },
            y: { field: 'accuracy', type: 'quantitative', axis: { format: '.0%' }, title: 'accuracy' },
            color: { field: 'method', type: 'nominal', sort: order, legend: null },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'seed'" }],
          mark: { type: 'point', filled: true, color: 'black' },
          encoding: {
            x: { field: 'method', type: 'nominal', sort: order },
            y: { field: 'accuracy', type: 'quantitative' },
          },
        },
      ],
    },
  });
  const compared = new Set(report.tables.flatMap((t) => t.rows.map((r) => r.method)));
  const points = records
    .filter((r) => r.stage === report.stage && compared.has(r.method))
    .flatMap((r) => r.curve.map((p) => ({ method: r.method, trace: trace(r.traces), seed: r.seed, ...p })));
  const curves = await renderSvg({
    title: `${report.experiment}: held-out accuracy during training (mean over seeds)`,
    data: { values: points },
    facet: { column: { field: 'trace', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        // From 0, integer ticks: a run evaluated once would otherwise get one tick, "6.000000".
        x: {
          field: 'step',
          type: 'quantitative',
          title: 'step',
          scale: { domainMin: 0 },
          axis: { format: 'd', tickMinStep: 1 },
        },
        y: { aggregate: 'mean', field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' } },
        color: { field: 'method', type: 'nominal', sort: order },
      },
    },
  });
  const files = { accuracy: join(dir, 'report.svg'), curves: join(dir, 'curves.svg') };
  writeTextAtomic(files.accuracy, accuracy);
  writeTextAtomic(files.curves, curves);
  return files;
}
