// The grid file: what an experiment trains and compares, in YAML or JSON. Validated here with
// errors that name the file and the field; what each run's kava config holds is validated again,
// with its plugins loaded, before anything trains (see the cli's `kava experiment`).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError, describeIssues, mergeConfigs } from '@kava/core/app';

/** A name that becomes part of run ids and folder names. */
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-" (it names folders)');
/** A layer of kava configuration (validated when the runs' configs are resolved). */
const configLayer = z.record(z.string(), z.unknown()).default({});

/** The trace styles a run can write its chain of thought in (`data.trace`). */
const trace = z.enum(['equation', 'nl']);
/**
 * A records folder of another grid: the runs of this stage or method are the same runs as that
 * grid's (same settings), so their records are read there, and written there when trained here.
 */
const sharedResults = z
  .string()
  .optional()
  .describe("folder of these runs' records when another grid shares them (relative to the grid file)");

const methodSchema = z.strictObject({
  presets: z.array(z.string()).default([]).describe("presets applied after the stage's own"),
  config: configLayer.describe("config layered over the grid's and the stage's"),
  traces: z
    .array(trace)
    .min(1)
    .optional()
    .describe("the trace styles this method trains in (default: all of the grid's)"),
  results: sharedResults,
});

const stageSchema = z.strictObject({
  name: name.describe('the stage; a stage without methods names its runs <stage>-<trace>-seed<seed>'),
  presets: z.array(z.string()).min(1).describe('presets of every run of the stage, e.g. [tiny-llama, full-cot]'),
  config: configLayer.describe("config layered over the grid's (e.g. the stage's train.steps)"),
  from: z
    .string()
    .optional()
    .describe("an earlier stage: each run fine-tunes that stage's model of the same trace style and seed"),
  methods: z
    .record(name, methodSchema)
    .optional()
    .describe('the compared methods: one run per method, trace style and seed, named <method>-<trace>-seed<seed>'),
  results: sharedResults,
  method: z
    .string()
    .optional()
    .describe("what the records of a stage without methods name as their method (default: the stage's name)"),
});

const slurmSchema = z.strictObject({
  partition: z.string().optional().describe('sbatch --partition (default: the cluster default)'),
  cpusPerTask: z.number().int().positive().default(1).describe('sbatch --cpus-per-task of each run'),
  mem: z.string().optional().describe('sbatch --mem of each run, e.g. 8G'),
  time: z.string().optional().describe('sbatch --time of each run, e.g. 04:00:00'),
  options: z.array(z.string()).default([]).describe('more sbatch options, e.g. ["--account=lab"]'),
});

/** What `kava experiment report` writes: the ranking of any grid, or one of the replication's pages. */
export const REPORT_KINDS = ['ranking', 'replication', 'study', 'probe'] as const;

export const gridSchema = z.strictObject({
  extends: z
    .string()
    .optional()
    .describe(
      "a grid file in the same folder that this one changes: objects merge key by key (null removes a key, except in config), stages merge by name, lists and a stage's methods are replaced",
    ),
  name: name.describe('the experiment: its records say so, and its folders are named after it'),
  seeds: z.array(z.number().int().nonnegative()).min(1).default([0]).describe('train.seed and data.shuffleSeed'),
  traces: z
    .array(trace)
    .min(1)
    .optional()
    .describe('data.trace of each run; left out, the runs keep their config and their ids have no trace'),
  config: configLayer.describe('config every run shares (data, train, eval)'),
  stages: z.array(stageSchema).min(1),
  report: z
    .strictObject({
      kind: z
        .enum(REPORT_KINDS)
        .default('ranking')
        .describe(
          'ranking: report.md ranks the methods; replication, study, probe: the two-stage replication\'s and the latent study\'s pages (docs/results.md)',
        ),
      stage: z.string().optional().describe('the stage whose methods the report compares (default: the last)'),
      against: z
        .array(z.string())
        .default([])
        .describe('methods every other method is compared with (difference and interval)'),
      out: z
        .string()
        .optional()
        .describe('folder of report.md, report.json and the charts (default: <grid folder>/experiments/<name>)'),
    })
    .default({ kind: 'ranking', against: [] }),
  runs: z.string().optional().describe('folder of the training runs (default: <grid folder>/experiments/<name>/runs)'),
  results: z.string().optional().describe("folder of the runs' records (default: <grid folder>/experiments/<name>/results)"),
  jobs: z.number().int().positive().optional().describe('local executor: trainings at a time (default 2, 1 on one core)'),
  slurm: slurmSchema.default({ cpusPerTask: 1, options: [] }),
});

/** A grid file, validated: the folders are absolute. */
export type Grid = z.output<typeof gridSchema> & {
  /** The grid file. */
  file: string;
  /** The folder of the training runs. */
  runs: string;
  /** The folder of the runs' records. */
  results: string;
  /** The folder of the report. */
  reportDir: string;
};
/** One stage of a grid. */
export type Stage = Grid['stages'][number];

/** The grid in `file` (YAML or JSON), validated; a ConfigError names the file and every bad field. */
export function loadGrid(file: string): Grid {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the grid file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text); // YAML 1.2 is a superset of JSON: one parser for both
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(`${path}${where}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) throw new ConfigError(`${path}: the grid file is empty`);
  return gridFrom(withBase(value, path, [path]), path);
}

/** `value` merged over the grid file it `extends` (and that one over its own), chains checked for loops. */
function withBase(value: unknown, file: string, chain: string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const base = (value as { extends?: unknown }).extends;
  if (base === undefined) return value;
  // Beside this file, so that every relative path of both (folders, data, plugins) means the same.
  if (typeof base !== 'string' || base.includes('/') || base.includes('\\'))
    throw new ConfigError(`${file}: extends: expected the name of a grid file in the same folder, got ${JSON.stringify(base)}`);
  const basePath = resolve(dirname(file), base);
  if (chain.includes(basePath))
    throw new ConfigError(`${file}: extends: ${basePath} extends itself through ${chain.join(' → ')}`);
  let text: string;
  try {
    text = readFileSync(basePath, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: extends: cannot read ${basePath}: ${(err as Error).message}`);
  }
  let parent: unknown;
  try {
    parent = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${basePath}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const resolvedParent = withBase(parent, basePath, [...chain, basePath]);
  const { extends: _, ...own } = value as Record<string, unknown>;
  return mergeGrid(resolvedParent, own);
}

/**
 * `over` merged into `base`: objects key by key (null removes the key), stages by name, lists and a
 * stage's methods replaced. A `config` layers as kava layers configs: there null is a value of its
 * own (`data.train: null`: no training file).
 */
function mergeGrid(base: unknown, over: unknown, key = ''): unknown {
  if (over === undefined) return base;
  if (key === 'config') return mergeConfigs(base, over);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (key === 'stages' && Array.isArray(base) && Array.isArray(over)) {
    const named = (v: unknown) => (isObject(v) ? v.name : undefined);
    const out = base.map((b) => {
      const o = over.find((x) => named(x) !== undefined && named(x) === named(b));
      return o === undefined ? b : mergeGrid(b, o);
    });
    return [...out, ...over.filter((o) => !base.some((b) => named(b) !== undefined && named(b) === named(o)))];
  }
  // A stage's methods are a list of what to compare: given again, they replace the base's.
  if (!isObject(base) || !isObject(over) || key === 'methods') return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = mergeGrid(base[k], v, k);
  }
  return out;
}

/** `value` as a grid read from `file` (the folders it names are relative to the file's folder). */
export function gridFrom(value: unknown, file: string): Grid {
  const parsed = gridSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    const lines = describeIssues(gridSchema, parsed.error.issues, file);
    throw new ConfigError(`Invalid grid file:\n  ${lines.join('\n  ')}`);
  }
  const g = parsed.data;
  const problems = crossCheck(g).map((p) => `${file}: ${p}`);
  if (problems.length) throw new ConfigError(`Invalid grid file:\n  ${problems.join('\n  ')}`);
  const dir = dirname(file);
  const folder = (given: string | undefined, fallback: string) =>
    given === undefined ? resolve(dir, 'experiments', g.name, fallback) : resolve(dir, given);
  return {
    ...g,
    file,
    runs: folder(g.runs, 'runs'),
    results: folder(g.results, 'results'),
    reportDir: folder(g.report.out, '.'),
  };
}

/** What the schema cannot say: stage names and `from` links, the report's methods, unique run ids. */
function crossCheck(g: z.output<typeof gridSchema>): string[] {
  const problems: string[] = [];
  const seen: string[] = [];
  g.stages.forEach((stage, i) => {
    if (seen.includes(stage.name)) problems.push(`stages.${i}.name: "${stage.name}" names two stages`);
    const earlier = g.stages.slice(0, i).filter((s) => !s.methods);
    if (stage.from !== undefined && !earlier.some((s) => s.name === stage.from))
      problems.push(
        `stages.${i}.from: expected an earlier stage without methods, whose one model per trace style and seed the runs start from (${earlier.length ? earlier.map((s) => s.name).join(', ') : 'there is none'}), got "${stage.from}"`,
      );
    if (stage.methods && stage.method !== undefined)
      problems.push(`stages.${i}.method: names the records of a stage without methods, but this stage has methods`);
    if (stage.methods && Object.keys(stage.methods).length === 0)
      problems.push(`stages.${i}.methods: expected at least one method (or leave it out: one run per trace style and seed)`);
    seen.push(stage.name);
  });
  const twice = <T>(xs: readonly T[]) => [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
  for (const s of twice(g.seeds)) problems.push(`seeds: ${s} is listed twice (two runs would share one id and folder)`);
  for (const t of twice(g.traces ?? [])) problems.push(`traces: "${t}" is listed twice (two runs would share one id and folder)`);
  g.stages.forEach((stage, i) =>
    Object.entries(stage.methods ?? {}).forEach(([m, method]) =>
      method.traces?.forEach((t, j) => {
        if (!(g.traces ?? []).includes(t))
          problems.push(
            `stages.${i}.methods.${m}.traces.${j}: expected one of the grid's traces (${(g.traces ?? []).join(', ') || 'it lists none'}), got "${t}"`,
          );
      }),
    ),
  );
  const stageNames = new Set(g.stages.map((s) => s.name));
  const methodNames = g.stages.flatMap((s) => Object.keys(s.methods ?? {}));
  const clash = [...stageNames].filter((s) => methodNames.includes(s));
  for (const c of clash) problems.push(`"${c}" names both a stage and a method: their runs would share ids`);
  const dup = methodNames.filter((m, i) => methodNames.indexOf(m) !== i);
  for (const m of new Set(dup)) problems.push(`the method "${m}" is in two stages: their runs would share ids`);
  const reportStage = g.report.stage ?? g.stages.at(-1)!.name;
  const stage = g.stages.find((s) => s.name === reportStage);
  if (!stage) problems.push(`report.stage: expected one of ${[...stageNames].join(', ')}, got "${reportStage}"`);
  else {
    const known = Object.keys(stage.methods ?? {});
    g.report.against.forEach((m, i) => {
      if (!known.includes(m))
        problems.push(
          `report.against.${i}: expected a method of stage "${reportStage}" (${known.join(', ') || 'it has none'}), got "${m}"`,
        );
    });
  }
  return problems;
}
