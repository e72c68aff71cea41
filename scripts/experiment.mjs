#!/usr/bin/env node
// `npm run experiment`: the grids of docs/results by their historical flags. Each experiment is a
// grid file in docs/results/grids/ run by `kava experiment` (@kava/experiments); this script only
// names the file and passes the options on. Usage: USAGE below (`npm run experiment -- --help`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadGrid } from '@kava/experiments';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KAVA = join(root, 'packages/cli/bin/kava.js');
const GRIDS = join(root, 'docs/results/grids');

const USAGE = `Usage: npm run experiment -- [options]

Runs a grid file of docs/results/grids/ through \`kava experiment\` (docs/experiments.md):
  (no options)        two-stage.yaml: 7 methods x 2 trace styles x 3 seeds, from one backbone per seed and style
  --quick             two-stage-quick.yaml: 1 seed, equation traces, short budgets (< 20 min on 2 cores)
  --ablations         two-stage-ablation.yaml: KaVa/R-KV variants, seed 1, equation traces
  --presses           two-stage-presses-*.yaml: KaVa with SnapKV or H2O as the scorer (issue 40)
  --study             latent-study-*.yaml: why latents do (not) beat no-CoT (issue 36), diagnostics on
  --probe             latent-probe-*.yaml: the recipe probe on the validation split
  --stage1-steps N  --stage2-steps N  --eval-limit N
                      another budget: the grid file of that name (e.g. two-stage-stage1-3000.yaml); the study
                      and the probe stand on the 3,000-step backbones and default to 3,000 stage-2 steps
  --report-only       remake the page(s) from the committed records, no training: alone, every grid's page
                      of docs/ (and docs/results.json); with an experiment flag, that one's

  --seeds 0,1,2       --methods a,b       --traces equation,nl      train a slice of the grid
  --jobs N            trainings at a time (default: the grid file's, else 2, or 1 on one core)
  --commit            commit each finished run's record as it lands (git)
  --report-dir DIR    write the page(s) there instead (e.g. to compare with the committed ones)
  --dry-run           list what would train and stop

A budget or experiment without a grid file is refused: write one (a few lines that extend another,
see docs/results/grids/) and run it with \`npx kava experiment run FILE\`.
`;

const fail = (message) => {
  process.stderr.write(`experiment: ${message}\n`);
  process.exit(2);
};
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      ablations: { type: 'boolean', default: false },
      presses: { type: 'boolean', default: false },
      study: { type: 'boolean', default: false },
      probe: { type: 'boolean', default: false },
      'stage1-steps': { type: 'string' },
      'stage2-steps': { type: 'string' },
      'eval-limit': { type: 'string' },
      'report-only': { type: 'boolean', default: false },
      seeds: { type: 'string' },
      methods: { type: 'string' },
      traces: { type: 'string' },
      jobs: { type: 'string' },
      commit: { type: 'boolean', default: false },
      'report-dir': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail(`${err.message} (see --help)`);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const kinds = ['quick', 'ablations', 'presses', 'study', 'probe'].filter((k) => args[k]);
if (kinds.length > 1) fail('--quick, --ablations, --presses, --study and --probe are separate experiments; give one');
for (const flag of ['stage1-steps', 'stage2-steps', 'eval-limit'])
  if (args[flag] !== undefined && !/^[1-9]\d*$/.test(args[flag]))
    fail(`--${flag}: expected a positive integer, got "${args[flag]}"`);

/** The grid's name, as the harness has always named its experiments (and their records' folders). */
function experimentName() {
  const tag = (flag, label) => (args[flag] ? `-${label}-${args[flag]}` : '');
  if (args.study || args.probe) {
    if (args['stage1-steps'] && args['stage1-steps'] !== '3000')
      fail('--study and --probe fine-tune the 3,000-step backbones; --stage1-steps must be 3000 or left out');
    return `${args.probe ? 'latent-probe' : 'latent-study'}-stage2-${args['stage2-steps'] ?? '3000'}${tag('eval-limit', 'eval')}`;
  }
  const base = args.quick
    ? 'two-stage-quick'
    : args.ablations
      ? 'two-stage-ablation'
      : args.presses
        ? 'two-stage-presses'
        : 'two-stage';
  return `${base}${tag('stage1-steps', 'stage1')}${tag('stage2-steps', 'stage2')}${tag('eval-limit', 'eval')}`;
}

const gridFiles = () =>
  readdirSync(GRIDS)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
function gridFile(name) {
  const file = join(GRIDS, `${name}.yaml`);
  if (!existsSync(file))
    fail(
      `no grid file ${relative(root, file)} for this experiment; the grids are ${gridFiles().join(', ')}. Write one that extends the closest (e.g. "extends: ${args.study || args.probe ? 'latent-study-stage2-3000.yaml' : 'two-stage.yaml'}", its name, and the changed steps) and run it with: npx kava experiment run ${relative(root, file)}`,
    );
  return file;
}

const kava = (argv) => {
  const r = spawnSync(process.execPath, [KAVA, 'experiment', ...argv], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const reportDir = args['report-dir'] ? ['--out', resolve(args['report-dir'])] : [];

if (args['report-only']) {
  // Alone: every page the grids write into docs/ (a quick check's or a ranking's stays out of it).
  const files =
    kinds.length || args['stage1-steps'] || args['stage2-steps'] || args['eval-limit']
      ? [gridFile(experimentName())]
      : gridFiles()
          .map((f) => join(GRIDS, f))
          .filter((f) => {
            const grid = loadGrid(f);
            return grid.report.kind !== 'ranking' && grid.reportDir === join(root, 'docs');
          });
  for (const file of files) kava(['report', relative(root, file), ...reportDir]);
} else {
  const file = gridFile(experimentName());
  const slice = ['seeds', 'methods', 'traces', 'jobs'].flatMap((k) => (args[k] ? [`--${k}`, args[k]] : []));
  // Each new record committed as it lands: a long grid's numbers survive the machine.
  const commit = args.commit
    ? [
        '--on-record',
        `git add -- "$KAVA_RECORD" && git commit -q -m "results: ${experimentName()} $KAVA_RUN $(awk "BEGIN { printf \\"%.1f\\", $KAVA_ACCURACY * 100 }")%" -- "$KAVA_RECORD"`,
      ]
    : [];
  kava(['run', relative(root, file), ...slice, ...commit, ...(args['dry-run'] ? ['--dry-run'] : [])]);
}
