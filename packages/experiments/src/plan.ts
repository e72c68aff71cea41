// A grid expanded into its runs: for each stage, one run per (method,) trace style and seed, with
// the kava config it trains and the settings string that decides its numbers.
import { isAbsolute, dirname, join, resolve } from 'node:path';
import { mergeConfigs } from '@kava/core/app';
import type { Grid, Stage } from './grid-file.js';

type Method = NonNullable<Stage['methods']>[string] | { presets: string[]; config: Record<string, unknown>; traces?: undefined; results?: undefined };

/** One training of a grid. */
export interface PlannedRun {
  /** `<method or stage>[-<trace>]-seed<seed>`: the record's file name and the run's folder. */
  id: string;
  stage: string;
  /** The method, or the stage's name for a stage without methods. */
  method: string;
  trace: 'equation' | 'nl' | null;
  seed: number;
  presets: string[];
  /** The run's kava config (paths absolute); `backbone.modelDir` is set when it trains. */
  config: Record<string, unknown>;
  /** The run whose exported model this one fine-tunes (`from` stage), or null. */
  from: string | null;
  /** That run's settings (its model must have been trained with them), or null. */
  fromSettings: string | null;
  /** Whether a later stage fine-tunes this run's model (so it is exported after training). */
  exported: boolean;
  /** The folder of its record: the grid's, or another grid's that shares the run (`results` of its stage or method). */
  results: string;
  /**
   * What decides the run's numbers: its presets, its config as the grid file writes it (paths as
   * written, so a record is reused from another checkout; keys sorted, so where in the file a
   * setting is written does not matter) and the settings of the run it starts from. A record made
   * with other settings is not reused; a run folder left by them is set aside.
   */
  settings: string;
}

/** Every run of `grid`, stage by stage (a run comes after the run it fine-tunes). */
export function planRuns(grid: Grid): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const byKey = new Map<string, PlannedRun>(); // `${stage}:${trace}:${seed}` -> the stage's run (stages without methods)
  const exportedStages = new Set(grid.stages.flatMap((s) => (s.from ? [s.from] : [])));
  for (const stage of grid.stages) {
    const methods: [string, Method][] = stage.methods
      ? Object.entries(stage.methods)
      : [[stage.method ?? stage.name, { presets: [], config: {} }]];
    for (const trace of grid.traces ?? [null])
      for (const seed of grid.seeds)
        for (const [method, m] of methods) {
          if (trace && m.traces && !m.traces.includes(trace)) continue;
          const from = stage.from ? fromRun(byKey, stage, trace, seed) : null;
          const id = `${stage.methods ? method : stage.name}${trace ? `-${trace}` : ''}-seed${seed}`;
          const presets = [...stage.presets, ...m.presets];
          const written = mergeConfigs(
            grid.config,
            stage.config,
            m.config,
            { train: { seed }, data: { shuffleSeed: seed, ...(trace ? { trace } : {}) } },
          );
          const settings = canonicalJson({ presets, config: written, from: from?.settings ?? null });
          const run: PlannedRun = {
            id,
            stage: stage.name,
            method,
            trace,
            seed,
            presets,
            config: absolutePaths(written, dirname(grid.file)),
            from: from?.id ?? null,
            fromSettings: from?.settings ?? null,
            exported: exportedStages.has(stage.name),
            results: resolve(dirname(grid.file), m.results ?? stage.results ?? grid.results),
            settings,
          };
          runs.push(run);
          if (!stage.methods) byKey.set(`${stage.name}:${trace}:${seed}`, run);
        }
  }
  return runs;
}

function fromRun(byKey: Map<string, PlannedRun>, stage: Stage, trace: string | null, seed: number): PlannedRun {
  // The grid file's check lets `from` name only an earlier stage without methods.
  return byKey.get(`${stage.from}:${trace}:${seed}`)!;
}

/** JSON with every object's keys sorted: the same settings whatever order the file wrote them in. */
function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

/**
 * The config with paths relative to the grid file made absolute: the run trains from a config in
 * its own folder, and kava resolves relative paths from the config file's folder. Data files and
 * backbone.modelDir are paths unless absolute (or a Hugging Face dataset, `hf:...`); a plugin is
 * a path when written `./...` or `../...`, else an npm name.
 */
function absolutePaths(config: Record<string, unknown>, dir: string): Record<string, unknown> {
  const pathLike = (v: unknown): v is string => typeof v === 'string' && v !== '' && !isAbsolute(v) && !v.startsWith('hf:');
  const out = structuredClone(config);
  if (Array.isArray(out.plugins))
    out.plugins = out.plugins.map((p: unknown) => (typeof p === 'string' && /^\.\.?\//.test(p) ? resolve(dir, p) : p));
  for (const [section, keys] of [
    ['data', ['train', 'test', 'validation']],
    ['backbone', ['modelDir']],
  ] as const) {
    const s = out[section] as Record<string, unknown> | undefined;
    if (s) for (const k of keys) if (pathLike(s[k])) s[k] = resolve(dir, s[k] as string);
  }
  return out;
}

/** The folder of a run's training, export and logs. */
export const runFolder = (grid: Grid, id: string): string => join(grid.runs, id);
/** The Hugging Face model folder a run exports for the stage after it. */
export const modelFolder = (grid: Grid, id: string): string => join(grid.runs, id, 'model');
