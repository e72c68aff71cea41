// `kava experiment run|status|report|cancel GRID`: comparison grids from a grid file, through
// @kava/experiments. `task` is what a Slurm array task runs (one run of one stage).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Option, type Command } from 'commander';
import { ConfigError, resolveConfig } from '@kava/core/app';
import {
  cancelSlurm,
  forwardStopSignals,
  type Grid,
  gridStatus,
  loadGrid,
  makeReport,
  planRuns,
  type PlannedRun,
  progressOf,
  queuedTasks,
  reportMarkdown,
  ResultsStore,
  runFolder,
  runLocal,
  type RunContext,
  schedule,
  type SlurmOptions,
  settingsHash,
  stopSignal,
  submitSlurm,
  trainRun,
  writeGridPage,
  writeReport,
} from '@kava/experiments';
import type { TopLevelSpec } from 'vega-lite';
import { BUILTIN_PLUGINS, DEFAULT_PRESETS } from '../builtin-plugins.js';
import { writeGridCharts } from '../report/grid-charts.js';
import { renderSvg } from '../report/write-report.js';
import { CommandExit, EXIT_FAILURE, STOP_SIGNALS } from '../exit-codes.js';
import { positiveFlag } from '../options.js';

/** This `kava` (node and bin/kava.js): what trainings and Slurm tasks run. */
const KAVA = [process.execPath, fileURLToPath(new URL('../../bin/kava.js', import.meta.url))];
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const started = Date.now();
const say = (line: string) => process.stdout.write(`[${((Date.now() - started) / 60000).toFixed(1)} min] ${line}\n`);

/** The grid, its runs, its store (checked readable and writable) and its report folder. */
function open(file: string) {
  const grid = loadGrid(file);
  const runs = planRuns(grid);
  const store = ResultsStore.of(grid, runs);
  store.check();
  return { grid, runs, store, reportDir: grid.reportDir };
}

function context(grid: Grid, store: ResultsStore): RunContext {
  return { grid, store, kava: KAVA, version: VERSION, log: say };
}

/**
 * Every run's kava config resolved once, with its plugins loaded, before anything trains: a typo
 * in the grid's config fails in a second, naming the run, not after a backbone has trained.
 */
async function checkConfigs(grid: Grid, runs: readonly PlannedRun[]): Promise<void> {
  for (const run of runs) {
    try {
      await resolveConfig({
        cwd: dirname(grid.file),
        ignoreConfigFiles: true,
        presets: run.presets,
        overrides: run.config,
        builtinPlugins: BUILTIN_PLUGINS,
        defaultPresets: DEFAULT_PRESETS,
      });
    } catch (err) {
      throw new ConfigError(`${grid.file}: run ${run.id} (stage ${run.stage}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export function experimentCommand(program: Command): void {
  const experiment = program
    .command('experiment')
    .description(
      'comparison grids from a grid file (stages, methods, seeds, trace styles): train what is missing, locally or on Slurm, and report with seed-aware intervals (docs/experiments.md)',
    );

  experiment
    .command('run')
    .argument('<grid>', 'grid file (YAML or JSON)')
    .addOption(new Option('--executor <name>', 'where the trainings run').choices(['local', 'slurm']).default('local'))
    .option('-j, --jobs <n>', "local: trainings at a time (default: the grid file's jobs, else 2, or 1 on one core)")
    .option('--partition <name>', "slurm: sbatch --partition (default: the grid file's slurm.partition)")
    .option('--time <limit>', "slurm: sbatch --time of each run (default: the grid file's slurm.time)")
    .option('--seeds <list>', 'train only these seeds, e.g. 1 or 0,2 (the report still covers the whole grid)')
    .option('--methods <list>', 'train only these methods (or stages), e.g. no-cot,kava-rkv')
    .option('--traces <list>', 'train only these trace styles, e.g. nl')
    .option(
      '--on-record <command>',
      'local: a shell command run after each new record is written, with KAVA_RECORD (its file), KAVA_RUN and KAVA_ACCURACY set (e.g. a git commit of the record)',
    )
    .option('--dry-run', 'list what would train and stop')
    .description(
      'train the runs without a record of their settings (a finished run is never trained again), then write the report',
    )
    .action(
      async (
        file: string,
        flags: {
          executor: 'local' | 'slurm';
          jobs?: string;
          partition?: string;
          time?: string;
          seeds?: string;
          methods?: string;
          traces?: string;
          onRecord?: string;
          dryRun?: boolean;
        },
      ) => {
        const jobFlag = positiveFlag('--jobs', flags.jobs);
        const { grid, runs, store, reportDir } = open(file);
        await checkConfigs(grid, runs);
        const todo = schedule(grid, store, runs, slice(grid, runs, flags));
        const done = runs.length - runs.filter((r) => !store.current(r.id, r.settings)).length;
        say(
          `${grid.name}: ${runs.length} runs (${grid.stages.map((s) => `${s.name}: ${runs.filter((r) => r.stage === s.name).length}`).join(', ')}), ${done} done; ${todo.length} to train${todo.length ? `: ${todo.map((s) => s.run.id).join(', ')}` : ''}`,
        );
        if (flags.dryRun) return;
        if (flags.executor === 'slurm') {
          const options: SlurmOptions = {
            ...grid.slurm,
            ...(flags.partition ? { partition: flags.partition } : {}),
            ...(flags.time ? { time: flags.time } : {}),
          };
          const subs = submitSlurm(grid, runs, todo, KAVA, options, say);
          say(subs.length ? `submitted; follow it with: kava experiment status ${file}` : 'nothing to submit');
          if (!todo.length) await finish(grid, runs, store, reportDir);
          return;
        }
        const jobs = jobFlag ?? grid.jobs ?? Math.max(1, Math.min(availableParallelism(), 2));
        const stopForwarding = forwardStopSignals((signal) =>
          say(`${signal}: the running trainings save a checkpoint and stop; run the same command again to resume`),
        );
        // Every minute, the step each running training has reached (each has its own log too).
        const active = new Set<PlannedRun>();
        const ticker = setInterval(() => {
          try {
            const now = running(grid, [...active]);
            if (now) say(`running: ${now}`);
          } catch {
            // a log being written: the next minute reads it
          }
        }, 60_000);
        try {
          const summary = await runLocal(context(grid, store), todo, jobs, {
            onStart: (run) => active.add(run),
            onOutcome: (run, outcome, n) => {
              active.delete(run);
              if (outcome.status === 'done' && outcome.file && flags.onRecord)
                onRecord(flags.onRecord, outcome.file, run.id, outcome.record.accuracy);
              if (outcome.status === 'done')
                say(
                  `${run.id}: ${(outcome.record.accuracy * 100).toFixed(1)} % (${outcome.record.correct}/${outcome.record.questions}) [${n}/${todo.length}]`,
                );
              else if (outcome.status === 'failed') say(`${run.id}: failed: ${outcome.reason} [${n}/${todo.length}]`);
            },
          });
          if (summary.stopped) throw new CommandExit(stoppedCode());
          await finish(grid, runs, store, reportDir);
          if (summary.failed.length) {
            say(`${summary.failed.length} run(s) failed: ${summary.failed.map((f) => f.id).join(', ')}`);
            throw new CommandExit(EXIT_FAILURE);
          }
        } finally {
          clearInterval(ticker);
          stopForwarding();
        }
      },
    );

  experiment
    .command('status')
    .argument('<grid>', 'grid file (YAML or JSON)')
    .option('--slurm', "also ask Slurm (squeue) about the grid's jobs")
    .description('where each run stands: done (its accuracy), queued or running on Slurm, part-trained, not started')
    .action((file: string, flags: { slurm?: boolean }) => {
      const { grid, runs, store } = open(file);
      const tasks = flags.slurm ? queuedTasks(grid, { ended: true }) : [];
      const rows = gridStatus(grid, runs, store, tasks);
      const width = Math.max(...rows.map((r) => r.id.length));
      for (const r of rows)
        process.stdout.write(`${r.id.padEnd(width)}  ${r.state.padEnd(12)}  ${r.detail}\n`.replace(/ +\n$/, '\n'));
      const counts = Object.entries(
        rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.state]: (acc[r.state] ?? 0) + 1 }), {}),
      );
      process.stdout.write(`${grid.name}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}\n`);
    });

  experiment
    .command('report')
    .argument('<grid>', 'grid file (YAML or JSON)')
    .option('--out <dir>', 'folder of report.md and report.json (default: beside the results)')
    .description(
      "the report from the records alone: each method's accuracy over seeds, ranked, and its difference from the reference methods with a seed-aware 95 % interval",
    )
    .action(async (file: string, flags: { out?: string }) => {
      const { grid, runs, store, reportDir } = open(file);
      await finish(grid, runs, store, flags.out ?? reportDir);
    });

  experiment
    .command('cancel')
    .argument('<grid>', 'grid file (YAML or JSON)')
    .description("cancel the grid's Slurm jobs (each training saves a checkpoint; `run` again resumes them)")
    .action((file: string) => {
      const { grid } = open(file);
      const jobs = cancelSlurm(grid);
      say(jobs.length ? `cancelled job ${jobs.join(', ')}` : 'no job of this grid is in the queue');
    });

  experiment
    .command('task', { hidden: true })
    .argument('<grid>', 'grid file')
    .requiredOption('--run <id>', 'the run')
    .option('--settings <hash>', 'the fingerprint of the settings it was submitted with (refused if they changed)')
    .description('train one run of a grid (what a Slurm array task runs)')
    .action(async (file: string, flags: { run: string; settings?: string }) => {
      const { grid, runs, store } = open(file);
      const run = runs.find((r) => r.id === flags.run);
      if (!run)
        throw new ConfigError(`${file}: the grid has no run ${flags.run} any more (it changed since it was submitted)`);
      if (flags.settings && settingsHash(run.settings) !== flags.settings)
        throw new ConfigError(
          `${file}: the settings of ${run.id} changed since it was submitted; run \`kava experiment run ${file} --executor slurm\` again`,
        );
      const needModel = schedule(grid, store, runs).find((s) => s.run.id === run.id)?.needModel ?? false;
      const stopForwarding = forwardStopSignals((signal) =>
        say(`${signal}: the training saves a checkpoint and stops`),
      );
      try {
        const outcome = await trainRun(context(grid, store), run, needModel);
        if (outcome.status === 'stopped') throw new CommandExit(stoppedCode());
        if (outcome.status === 'failed') {
          say(`${run.id}: failed: ${outcome.reason}`);
          throw new CommandExit(EXIT_FAILURE);
        }
        say(
          `${run.id}: ${(outcome.record.accuracy * 100).toFixed(1)} %${outcome.trained ? '' : ' (its record was there)'}`,
        );
      } finally {
        stopForwarding();
      }
    });
}

/** The exit code of a call a signal stopped: 130 (SIGINT) or 143 (SIGTERM). */
const stoppedCode = (): number => (stopSignal() === 'SIGTERM' ? STOP_SIGNALS.SIGTERM : STOP_SIGNALS.SIGINT);

/**
 * The runs a `--seeds/--methods/--traces` slice keeps; each value must name something of the grid
 * (a typo would otherwise train nothing and say nothing).
 */
function slice(
  grid: Grid,
  runs: readonly PlannedRun[],
  flags: { seeds?: string; methods?: string; traces?: string },
): (run: PlannedRun) => boolean {
  const pick = <T>(flag: string, text: string | undefined, known: T[], parse: (s: string) => T): Set<T> | null => {
    if (text === undefined) return null;
    const values = text
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    const out = new Set<T>();
    for (const v of values) {
      const x = parse(v);
      if (!known.includes(x))
        throw new ConfigError(`${flag}: "${v}" is not in the grid ${grid.file} (it has ${known.join(', ')})`);
      out.add(x);
    }
    return out;
  };
  const seeds = pick('--seeds', flags.seeds, grid.seeds, Number);
  const methods = pick('--methods', flags.methods, [...new Set(runs.map((r) => r.method))], String);
  const traces = pick('--traces', flags.traces, grid.traces ?? [], String);
  return (run) =>
    (!seeds || seeds.has(run.seed)) &&
    (!methods || methods.has(run.method)) &&
    (!traces || (run.trace !== null && traces.has(run.trace)));
}

/** Runs the --on-record command for a new record; its failure is reported, not fatal (the record is written). */
function onRecord(command: string, file: string, id: string, accuracy: number): void {
  const r = spawnSync('sh', ['-c', command], {
    stdio: 'inherit',
    env: { ...process.env, KAVA_RECORD: file, KAVA_RUN: id, KAVA_ACCURACY: String(accuracy) },
  });
  if (r.status !== 0) say(`--on-record exited with ${r.status ?? r.signal} for ${id} (the record is written: ${file})`);
}

/** The running runs' progress, one line. */
function running(grid: Grid, runs: readonly PlannedRun[]): string {
  return runs
    .map((r) => ({ id: r.id, p: progressOf(join(runFolder(grid, r.id), 'run')) }))
    .filter((x) => x.p && x.p.step < x.p.totalSteps)
    .map((x) => `${x.id} step ${x.p!.step}/${x.p!.totalSteps}`)
    .join(', ');
}

/** Writes the report (report.md, report.json, report.svg, curves.svg) into `dir` and prints it. */
async function finish(grid: Grid, runs: readonly PlannedRun[], store: ResultsStore, dir: string): Promise<void> {
  if (grid.report.kind !== 'ranking') {
    // One of the replication's pages (docs/results): its own files, no report.md.
    const written = await writeGridPage(grid, runs, store, {
      reportDir: dir,
      wallMinutes: (Date.now() - started) / 60000,
      render: (spec) => renderSvg(spec as unknown as TopLevelSpec),
      print: (text) => process.stdout.write(text),
    });
    process.stdout.write(
      `\nwrote ${written.map((f) => relative(process.cwd(), f)).join(', ')} (from ${relative(process.cwd(), grid.results) || '.'})\n`,
    );
    return;
  }
  const records = store.all();
  const report = makeReport(grid, runs, records);
  const paths = writeReport(report, dir);
  const current = records.filter((r) => runs.some((run) => run.id === r.id && run.settings === r.settings));
  await writeGridCharts(report, current, dir);
  process.stdout.write(
    `\n${reportMarkdown(report)}\nreport: ${relative(process.cwd(), paths.markdown)} (with report.json, and the charts report.svg and curves.svg beside it)\n`,
  );
}
