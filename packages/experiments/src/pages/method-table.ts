// The per-method table and bar chart of the replication's pages: accuracy per trace style, the
// equation → NL drop, the cost of an answer, and the time a run took.
import { mean } from '../stats.js';

/** Renders a Vega-Lite spec to SVG (the cli's renderer: this package draws no charts itself). */
export type RenderSvg = (spec: Record<string, unknown>) => Promise<string>;

/** One method in one trace style, over its seeds. */
export interface MethodCell {
  method: string;
  trace: string;
  runs: number;
  mean: number;
  std: number;
  /** Forward passes per question. */
  passes: number;
  /** KV entries per question. */
  kv: number;
  /** Training seconds of a run. */
  seconds: number;
}

const pct = (x: number) => (100 * x).toFixed(1);

/**
 * A Markdown table: per method, accuracy mean ± std (runs) for each trace style, then an
 * equation → NL drop column when both styles are there, forward passes and KV entries per
 * question per style, and the mean training seconds of a run.
 */
export function methodTable(options: {
  methods: readonly string[];
  traces: readonly string[];
  cell: (method: string, trace: string) => MethodCell | undefined;
  drop: (method: string) => string;
  headers: { accuracy: (trace: string) => string; drop: string };
}): string {
  const { methods, traces, cell, drop, headers } = options;
  const both = traces.length === 2;
  const header = [
    'method',
    ...traces.map(headers.accuracy),
    ...(both ? [headers.drop] : []),
    ...traces.map((t) => `passes/q (${t})`),
    ...traces.map((t) => `KV entries (${t})`),
    'train s/run',
  ];
  const rows = methods.map((m) => {
    const c = traces.map((t) => cell(m, t));
    const seconds = c.filter((x): x is MethodCell => Boolean(x)).map((x) => x.seconds);
    return [
      m,
      ...c.map((x) => (x ? `${pct(x.mean)} ± ${pct(x.std)} (${x.runs})` : '–')),
      ...(both ? [drop(m)] : []),
      ...c.map((x) => (x ? x.passes.toFixed(1) : '–')),
      ...c.map((x) => (x ? x.kv.toFixed(1) : '–')),
      seconds.length ? mean(seconds).toFixed(0) : '–',
    ];
  });
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/**
 * The bar chart of the same cells (SVG): accuracy per trace style, one panel per method, with a
 * rule from mean − std to mean + std.
 */
export function methodBars(options: {
  render: RenderSvg;
  cells: readonly MethodCell[];
  methods: readonly string[];
  traces: readonly string[];
  title: string;
  width: number;
  height: number;
  format: string;
}): Promise<string> {
  const { render, cells, methods, traces, title, width, height, format } = options;
  const bars = cells.map((c) => ({
    method: c.method,
    trace: c.trace,
    accuracy: c.mean,
    lo: Math.max(0, c.mean - c.std),
    hi: c.mean + c.std,
  }));
  return render({
    title,
    data: { values: bars },
    facet: { column: { field: 'method', type: 'nominal', title: null, sort: methods } },
    // A facet's panel size belongs to its inner spec (at the top level Vega-Lite ignores it).
    spec: {
      width,
      height,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'trace', type: 'nominal', title: null, sort: traces },
            y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format } },
            color: { field: 'trace', type: 'nominal', sort: traces },
          },
        },
        {
          mark: 'rule',
          encoding: {
            x: { field: 'trace', type: 'nominal', sort: traces },
            y: { field: 'lo', type: 'quantitative' },
            y2: { field: 'hi' },
          },
        },
      ],
    },
  });
}
