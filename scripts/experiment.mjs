#!/usr/bin/env node
// The paper's comparison at small scale, in the paper's setup (KAVA-METHOD.md §5, §7; issue
// "Show that the method works"): every method is fine-tuned from the same backbone that has
// already learned to reason in writing.
//
//   stage 1  the tiny model trained with full CoT (whole trace) on the synthetic task, once per
//            seed and trace style, then exported with `kava export --merged` as a Hugging Face
//            model directory;
//   stage 2  from that directory (`--model-dir`, all weights trained), the same budget for each
//            of no-cot, full-cot, codi, pccot, kava-rkv, kava-keydiff, kava-random.
//
// Usage: USAGE below (`npm run experiment -- --help`).
//
// Resumable twice over: each finished run's numbers are written to docs/results/runs/<experiment>/
// <id>.json (small JSON, committed; --commit commits each one as it lands), and a run whose file
// exists with the same settings is not trained again, on any machine. Interrupted trainings
// continue from their last checkpoint in <out> (not committed). A missing stage-1 model is
// retrained, but on another CPU its kernels round differently and the rebuild is another backbone
// (its teacher may differ by several points): each stage-2 run records the build it started from
// (`backbone`: its teacher's accuracy, the weights' sha256) and the report names the runs that
// started from another build than the committed one. Tables: docs/results.json,
// docs/results-replication.md and .svg (folded into docs/results.md by hand).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  blasSettings,
  finishedRun,
  isStopping,
  pool,
  root,
  runKava,
  setAsideIfStale,
  trainRun,
} from './lib/kava-runs.mjs';
import { mean, median, pairedBootstrap, std } from './lib/stats.mjs';
import { loadNativeAddon } from '@kava/core/app';
import { failer, gridSelection, positiveInt } from './lib/grid-args.mjs';

const USAGE = `Usage: npm run experiment -- [options]

  (no options)        the grid: 7 methods x 2 trace styles x 3 seeds, from one backbone per seed and style
  --quick             1 seed, equation traces, short budgets (< 20 min on 2 cores): checks the pipeline
  --ablations         KaVa/R-KV variants (lambda, last step, M, alpha1, frozen teacher): seed 1, equation
                      traces (add --traces equation,nl for both styles); with --stage1-steps N, from that
                      budget's grid (its backbones and KaVa/R-KV runs)
  --presses           KaVa with SnapKV or H2O as the scorer (issue 40): seed 1, both trace styles, from the grid's
                      backbones (with --stage1-steps 3000: the 3,000-step ones)
  --study             why latents do (not) beat no-CoT (issue 36): 3,000 stage-2 steps from the 3,000-step
                      backbones, diagnostics on (latent usage, per-term gradient norms); verbose NL: no-cot,
                      full-cot, codi, pccot, kava-rkv, kava-random; equation: no-cot, codi, pccot, kava-rkv;
                      3 seeds
  --probe             the recipe probe on the validation split (NL, seed 1): KaVa/R-KV as committed, with
                      position-consistent keys, with alpha1 = 10 and a warm-up, with alpha2 = 10; CODI as
                      committed and with the same warm-up; no-CoT for reference
  --report-only       tables, intervals, charts and docs/results.json from the committed results; no training

  --seeds 0,1,2       --methods a,b       --traces equation,nl      a slice of the grid
  --jobs N            trainings at a time (default: 2, or 1 on one core)
  --commit            commit each finished run's numbers as it lands
  --out DIR           where the training runs live (default experiments/<experiment>)
  --stage1-steps N  --stage2-steps N  --eval-limit N
                      another budget: another experiment (e.g. two-stage-stage2-3000), in its own folders
  --results DIR  --report-dir DIR
                      other folders, e.g. a smoke test that leaves docs/ alone
`;

// ---- settings ---------------------------------------------------------------------------------
/**
 * The task: values up to 20, 3–4 steps (no-CoT must chain 3–4 lookups in one pass; written out
 * each is easy), NL traces in the verbose style (4.6x the equation trace's tokens).
 */
const TASK = { maxValue: 20, minSteps: 3, maxSteps: 4, nlStyle: 'verbose' };
const FULL = {
  stage1: { steps: 2000, lr: 3e-3, evalEvery: 250 },
  stage2: { steps: 1000, lr: 1e-3, evalEvery: 200 },
  evalLimit: 400,
};
const QUICK = {
  stage1: { steps: 300, lr: 3e-3, evalEvery: 100 },
  stage2: { steps: 60, lr: 1e-3, evalEvery: 30 },
  evalLimit: 100,
};

/** The compared methods: presets plus the config that differs. */
const METHODS = {
  'no-cot': { presets: ['no-cot'], config: {} },
  // The full-CoT baseline writes the whole trace (its answer is a copy of the last result); the
  // latent methods' teacher drops the last step, as in CODI/PCCoT/KaVa.
  'full-cot': { presets: ['full-cot'], config: { data: { dropLastStep: false } } },
  codi: { presets: ['codi'], config: {} },
  pccot: { presets: ['pccot'], config: {} },
  'kava-rkv': { presets: ['kava'], config: { compression: { scorer: 'rkv', options: { lambda: 0.1 } } } },
  'kava-keydiff': { presets: ['kava'], config: { compression: { scorer: 'keydiff', options: {} } } },
  'kava-random': { presets: ['kava'], config: { compression: { scorer: 'random', options: {} } } },
};

/**
 * Issue 36's recipe variants, each one changed setting against the committed recipe; the probe
 * trains them on verbose NL, seed 1, and picks each method's recipe by its validation accuracy.
 * The warm-up ramps alpha1 over the first 20 % of stage 2 (600 of 3,000 steps).
 */
const RKV = METHODS['kava-rkv'].config.compression;
const ALPHA10_WARM = { losses: { codi: { weight: 10, warmup: 0.2 } } };
const RECIPES = {
  'kava-rkv-latent-keys': {
    presets: ['kava'],
    config: { compression: RKV, losses: { kv: { keyPositions: 'latent' } } },
  },
  'kava-rkv-alpha10-warm': { presets: ['kava'], config: { compression: RKV, ...ALPHA10_WARM } },
  // Added after the diagnosis's first 600 steps (before any probe run): the KV term's gradient
  // was a median 11x (equation) and 33x (NL) smaller than the student CE's at the measured steps,
  // with clipping on 97-99 % of steps, so at weight 1 it hardly steers the update. Weight 10 makes
  // the two comparable.
  'kava-rkv-alpha2-10': { presets: ['kava'], config: { compression: RKV, losses: { kv: { weight: 10 } } } },
  'codi-alpha10-warm': { presets: ['codi'], config: ALPHA10_WARM },
};
/**
 * The study's grid: which methods each trace style trains. The equation runs give the eq → NL drop
 * and, with PCCoT, the diagnosis of every latent method in both styles.
 */
const STUDY_GRID = {
  nl: ['no-cot', 'full-cot', 'codi', 'pccot', 'kava-rkv', 'kava-random'],
  equation: ['no-cot', 'codi', 'pccot', 'kava-rkv'],
};
const PROBE_METHODS = [
  'no-cot',
  'kava-rkv',
  'kava-rkv-latent-keys',
  'kava-rkv-alpha10-warm',
  'kava-rkv-alpha2-10',
  'codi',
  'codi-alpha10-warm',
];
/** Steps between the per-term gradient-norm measurements of the study's latent runs. */
const GRAD_NORM_EVERY = 100;

/** KaVa (R-KV) variants, one changed setting each (the issue's ablation list). */
const ABLATIONS = {
  'kava-rkv-lambda0': { config: { compression: { scorer: 'rkv', options: { lambda: 0 } } } },
  'kava-rkv-lambda1': { config: { compression: { scorer: 'rkv', options: { lambda: 1 } } } },
  'kava-rkv-keep-last': { config: { data: { dropLastStep: false } } },
  'kava-rkv-m4': { config: { latent: { count: 4 } } },
  'kava-rkv-m16': { config: { latent: { count: 16 } } },
  'kava-rkv-alpha10': { config: { losses: { codi: { weight: 10 } } } },
  // The paper shares the teacher's weights with the student; here the teacher is the stage-1 model, frozen.
  'kava-rkv-frozen-teacher': { config: { train: { teacher: 'frozen' } } },
};

/**
 * Two presses of @kava/plugin-presses as KaVa's distillation target in R-KV's place (--presses;
 * issue 40's second table in docs/eviction.md): the KaVa recipe, another choice of what the
 * student copies, compared with the grid's KaVa/R-KV and KaVa/random runs from the same backbones.
 */
const PRESSES = {
  'kava-snapkv': { presets: ['kava'], config: { compression: { scorer: 'snapkv', options: {} } } },
  'kava-h2o': { presets: ['kava'], config: { compression: { scorer: 'h2o', options: {} } } },
};

const OPTIONS = {
  quick: { type: 'boolean', default: false },
  ablations: { type: 'boolean', default: false },
  presses: { type: 'boolean', default: false },
  study: { type: 'boolean', default: false },
  probe: { type: 'boolean', default: false },
  out: { type: 'string' },
  seeds: { type: 'string' },
  methods: { type: 'string' },
  traces: { type: 'string' },
  jobs: { type: 'string' },
  commit: { type: 'boolean', default: false },
  'report-only': { type: 'boolean', default: false },
  'stage1-steps': { type: 'string' },
  'stage2-steps': { type: 'string' },
  'eval-limit': { type: 'string' },
  results: { type: 'string' },
  'report-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

const fail = failer('experiment');
let args;
try {
  ({ values: args } = parseArgs({ options: OPTIONS }));
} catch (err) {
  fail(`${err.message} (see --help)`);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const positive = (flag) => positiveInt(flag, args[flag], fail);
const quick = args.quick;
if ([args.quick, args.ablations, args.presses, args.study, args.probe].filter(Boolean).length > 1)
  fail('--quick, --ablations, --presses, --study and --probe are separate experiments; give one');
// The study and the probe stand on the 3,000-step backbones of the committed grid and default to
// 3,000 stage-2 steps; --stage2-steps gives the budget curve (e.g. 6,000) its own experiment.
const study = args.study || args.probe;
if (study && args['stage1-steps'] && args['stage1-steps'] !== '3000')
  fail('--study and --probe fine-tune the committed 3,000-step backbones; --stage1-steps must be 3000 or left out');
if (study) {
  args['stage1-steps'] = '3000';
  args['stage2-steps'] ??= '3000';
}
const budget = structuredClone(quick ? QUICK : FULL);
// Another budget keeps the default's evaluation interval (at least 4 evaluations), so a longer
// stage 2 draws its curve as finely as the grid's.
const stepsFrom = (flag, stage) => {
  const steps = positive(flag);
  return { ...stage, steps, evalEvery: Math.min(stage.evalEvery, Math.ceil(steps / 4)) };
};
if (args['stage1-steps']) budget.stage1 = stepsFrom('stage1-steps', budget.stage1);
if (args['stage2-steps']) budget.stage2 = stepsFrom('stage2-steps', budget.stage2);
if (args['eval-limit']) budget.evalLimit = positive('eval-limit');
// Runs with another budget are another experiment, with their own folders: under the grid's
// name they would replace its committed records (a record made with other settings is retrained).
const budgetTag = [
  args['stage1-steps'] && `stage1-${budget.stage1.steps}`,
  args['stage2-steps'] && `stage2-${budget.stage2.steps}`,
  args['eval-limit'] && `eval-${budget.evalLimit}`,
]
  .filter(Boolean)
  .map((t) => `-${t}`)
  .join('');
const experiment = study
  ? `${args.probe ? 'latent-probe' : 'latent-study'}-stage2-${budget.stage2.steps}${args['eval-limit'] ? `-eval-${budget.evalLimit}` : ''}`
  : `${quick ? 'two-stage-quick' : args.ablations ? 'two-stage-ablation' : args.presses ? 'two-stage-presses' : 'two-stage'}${budgetTag}`;
const catalogue = study
  ? { ...METHODS, ...RECIPES }
  : args.presses
    ? PRESSES
    : args.ablations
      ? {
          'kava-rkv': METHODS['kava-rkv'],
          ...Object.fromEntries(
            Object.entries(ABLATIONS).map(([k, v]) => [
              k,
              { presets: ['kava'], config: { compression: METHODS['kava-rkv'].config.compression, ...v.config } },
            ]),
          ),
        }
      : METHODS;
// The ablations default to one seed and the equation traces: on 2 cores a verbose-NL run costs
// about twice an equation one, and the method comparison across styles is the grid's job. Seed 1,
// because its backbone is rebuilt bit for bit on a fresh machine, so each variant is paired with
// the grid's own KaVa/R-KV run from the same model; seed 0's committed build predates the pinned
// BLAS settings and a rebuild is another model (16.5 % instead of 23.3 % after 250 steps).
const gridDefaults = {
  traces: quick || args.ablations ? 'equation' : args.probe ? 'nl' : 'equation,nl',
  seeds: quick ? '0' : args.ablations || args.presses || args.probe ? '1' : '0,1,2',
};
const studyMethods = args.probe ? PROBE_METHODS : [...new Set(Object.values(STUDY_GRID).flat())];
const { methods, traces, seeds } = gridSelection(
  study && !args.methods ? { ...args, methods: studyMethods.join(',') } : args,
  catalogue,
  gridDefaults,
  fail,
);
// The report always covers the whole grid (and any extra seed or method this call ran): a call
// that trains a slice must not rewrite the tables as if the slice were all there is.
const whole = gridSelection(study ? { methods: studyMethods.join(',') } : {}, catalogue, gridDefaults, fail);
const reportGrid = {
  methods: [...new Set([...whole.methods, ...methods])],
  traces: [...new Set([...whole.traces, ...traces])],
  seeds: [...new Set([...whole.seeds, ...seeds])].sort((a, b) => a - b),
};
const jobs = args.jobs ? Number(args.jobs) : Math.max(1, Math.min(availableParallelism(), 2));
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs: expected a positive integer, got "${args.jobs}"`);

const outDir = resolve(args.out ?? join(root, 'experiments', experiment));
const resultsDir = resolve(args.results ?? join(root, 'docs/results/runs', experiment));
const reportDir = resolve(args['report-dir'] ?? join(root, 'docs'));
mkdirSync(outDir, { recursive: true });
mkdirSync(resultsDir, { recursive: true });
mkdirSync(reportDir, { recursive: true });

// ---- configs ----------------------------------------------------------------------------------
const MAX_COT = 160; // the longest verbose trace of 4 steps is ~150 word pieces

function baseConfig(trace, seed) {
  return {
    data: { format: 'synthetic', train: null, test: null, trace, shuffleSeed: seed, synthetic: TASK },
    train: {
      seed,
      batchSize: 16,
      microBatchSize: 16,
      teacherWarmup: 0,
      warmup: 0.05,
      checkpointEvery: 100,
      maxQuestionTokens: 96,
      maxCotTokens: MAX_COT,
    },
    eval: { limit: budget.evalLimit, maxCotTokens: MAX_COT },
  };
}

const stage1Id = (trace, seed) => `stage1-${trace}-seed${seed}`;
function stage1Config(trace, seed) {
  const c = baseConfig(trace, seed);
  c.data.dropLastStep = false;
  Object.assign(c.train, { steps: budget.stage1.steps, lr: budget.stage1.lr, evalEvery: budget.stage1.evalEvery });
  return c;
}

function stage2Config(method, trace, seed, modelDir) {
  const c = baseConfig(trace, seed);
  const { data = {}, train = {}, ...rest } = structuredClone(catalogue[method].config);
  c.data = { ...c.data, ...data };
  Object.assign(
    c.train,
    { steps: budget.stage2.steps, lr: budget.stage2.lr, evalEvery: budget.stage2.evalEvery },
    train,
  );
  const latent = ['kava', 'codi', 'pccot'].includes(catalogue[method].presets[0]);
  if (study && latent) c.train.gradNormEvery = GRAD_NORM_EVERY;
  // The probe chooses recipes on the validation split, never on the test questions.
  if (args.probe) c.eval.split = 'validation';
  return { ...c, ...rest, backbone: { modelDir } };
}

// ---- committed per-run results ----------------------------------------------------------------
// The ablations start from the grid's backbones and are measured against the grid's own KaVa/R-KV
// runs (the same settings): those records live in the grid's folder, so neither is trained twice.
// The study and the probe share the 3,000-step grid's backbones (and their stage-1 records).
// Ablations and presses at another budget build on the grid of that budget (e.g. two-stage-stage1-3000).
const gridResultsDir = study
  ? join(root, 'docs/results/runs/two-stage-stage1-3000')
  : args.results || (budgetTag && !args.ablations && !args.presses)
    ? resultsDir
    : join(root, `docs/results/runs/two-stage${budgetTag}`);
const sharedWithGrid = (id) =>
  (study && id.startsWith('stage1-')) ||
  (args.presses && id.startsWith('stage1-')) ||
  (args.ablations && (id.startsWith('stage1-') || /^kava-rkv-[a-z]+-seed\d+$/.test(id)));
const resultFile = (id) => join(sharedWithGrid(id) ? gridResultsDir : resultsDir, `${id}.json`);
/** The settings that decide a run's numbers; a committed result made with others is not reused. */
const settingsOf = (presets, config, stage1 = undefined) =>
  JSON.stringify({
    presets,
    config: {
      ...config,
      backbone: config.backbone
        ? { ...config.backbone, modelDir: config.backbone.modelDir ? 'stage1' : null }
        : undefined,
    },
    stage1,
  });
/** A stage-1 backbone's settings; a stage-2 run's include them, so a changed backbone retrains what was built on it. */
const stage1Settings = (trace, seed) => settingsOf(['tiny-llama', 'full-cot'], stage1Config(trace, seed));

function committed(id, settings) {
  if (!existsSync(resultFile(id))) return null;
  const r = JSON.parse(readFileSync(resultFile(id), 'utf8'));
  if (r.settings !== settings) {
    process.stderr.write(
      `experiment: ${relative(root, resultFile(id))} was made with other settings; training it again\n`,
    );
    return null;
  }
  return r;
}

function record(id, fields, settings, outcome) {
  const r = {
    experiment,
    id,
    ...fields,
    accuracy: outcome.result.accuracy,
    correct: outcome.result.correct,
    questions: outcome.result.questions,
    mode: outcome.result.mode,
    forwardPassesPerQuestion: outcome.result.forwardPassesPerQuestion,
    kvEntriesPerQuestion: outcome.result.kvEntriesPerQuestion,
    ...(study ? { stage2Steps: budget.stage2.steps, evalSplit: args.probe ? 'validation' : 'test' } : {}),
    ...latentUsageOf(outcome),
    ...(study ? { ...gradientsOf(outcome), code } : {}),
    trainSeconds: Math.round(outcome.seconds),
    curve: outcome.curve,
    perQuestion: perQuestionOf(outcome),
    settings,
  };
  save(id, r, `results: ${experiment} ${id} ${(r.accuracy * 100).toFixed(1)}%`);
  return r;
}

/** Per question, in test-split order: 1 correct, 0 wrong (for the paired bootstrap). */
function perQuestionOf(outcome, file = outcome.result.predictionsFile) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l).correct ? '1' : '0'))
    .join('');
}

/** A latent run's accuracy with shuffled and with placeholder latents (eval.latentUsage), per question too. */
function latentUsageOf(outcome) {
  const r = outcome.result;
  if (r.accuracyLatentsShuffled === undefined) return {};
  // The evaluation names its predictions files, as it names the main one.
  return {
    accuracyLatentsShuffled: r.accuracyLatentsShuffled,
    accuracyLatentsPlaceholder: r.accuracyLatentsPlaceholder,
    perQuestionLatentsShuffled: perQuestionOf(outcome, r.latentUsagePredictions.shuffled),
    perQuestionLatentsPlaceholder: perQuestionOf(outcome, r.latentUsagePredictions.placeholder),
  };
}

/**
 * The step's gradients over the run: the fraction of steps clipping fired, and each term's gradient
 * norm alone (train.gradNormEvery), as its median over the first and the second half of the run.
 */
function gradientsOf(outcome) {
  const rows = readFileSync(join(outcome.runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const known = rows.filter((m) => m.clipped !== undefined);
  const measured = rows.filter((m) => m.termGradNorms);
  const half = Math.ceil(measured.length / 2);
  const terms = [...new Set(measured.flatMap((m) => Object.keys(m.termGradNorms)))];
  const medianOf = (rs, pick) => {
    const xs = rs.map(pick).filter((v) => v !== undefined);
    return xs.length ? Number(median(xs).toPrecision(4)) : null;
  };
  return {
    clipFraction: known.length ? known.filter((m) => m.clipped).length / known.length : null,
    ...(measured.length
      ? {
          termGradNorms: Object.fromEntries(
            [...terms, 'step'].map((t) => {
              const pick = (m) => (t === 'step' ? m.gradNorm : m.termGradNorms[t]);
              return [
                t,
                {
                  firstHalf: medianOf(measured.slice(0, half), pick),
                  secondHalf: medianOf(measured.slice(half), pick),
                },
              ];
            }),
          ),
        }
      : {}),
  };
}

/**
 * The version of the training step every run of this call trains with (the grid is compared on
 * one version): the commit of this checkout and the BLAS settings of the children.
 */
const code = (() => {
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout (an unpacked tarball): the record says so by its null
  }
  return { commit, blas: blasSettings };
})();

/** Writes a run's record, and commits it with --commit. */
function save(id, r, message) {
  writeFileSync(resultFile(id), `${JSON.stringify(r, null, 1)}\n`);
  if (args.commit) {
    try {
      execFileSync('git', ['add', resultFile(id)], { cwd: root });
      execFileSync('git', ['commit', '-q', '-m', message, '--', resultFile(id)], { cwd: root });
    } catch (err) {
      process.stderr.write(`experiment: could not commit ${resultFile(id)}: ${err.message}\n`);
    }
  }
}

// ---- stage 1 ----------------------------------------------------------------------------------
const stage1Pending = new Map(); // one training per backbone, however many stage-2 runs wait for it
const stage1Done = new Set(); // the backbones this call has finished (built, or found in their folder)
function stage1Model(trace, seed) {
  const key = stage1Id(trace, seed);
  if (!stage1Pending.has(key))
    stage1Pending.set(
      key,
      buildStage1(trace, seed).finally(() => stage1Done.add(key)),
    );
  return stage1Pending.get(key);
}

async function buildStage1(trace, seed) {
  const id = stage1Id(trace, seed);
  const dir = join(outDir, id);
  const modelDir = join(dir, 'model');
  const presets = ['tiny-llama', 'full-cot'];
  const config = stage1Config(trace, seed);
  const settings = stage1Settings(trace, seed);
  setAsideIfStale(dir, settings);
  const t0 = Date.now();
  const onDisk = finishedRun(join(dir, 'run'));
  const outcome = onDisk ?? (await trainRun(dir, presets, config));
  if (!outcome) return null;
  if (!existsSync(join(modelDir, 'config.json'))) {
    const code = await runKava(
      ['export', join(dir, 'run'), '--out', modelDir, '--merged', '--force'],
      join(dir, 'export.log'),
    );
    if (code !== 0) {
      process.stderr.write(`experiment: exporting ${id} failed, see ${join(dir, 'export.log')}\n`);
      return null;
    }
  }
  const built = builtBackbone(modelDir, outcome);
  const known = committed(id, settings);
  if (!known) {
    // The fingerprint goes with the committed backbone, so a stage-2 run can say it used this build.
    const fields = { method: 'stage1-full-cot', traces: trace, seed, sha256: built.backbone.sha256 };
    const r = record(id, fields, settings, outcome);
    log(`${id}: teacher ${(r.accuracy * 100).toFixed(1)}% (${r.correct}/${r.questions}), ${minutes(Date.now() - t0)}`);
  } else {
    // A rebuilt backbone (its model is not committed): same settings and seed, but another CPU's
    // kernels may round differently, so say how close it came to the committed one.
    const { correct, questions } = outcome.result;
    const same = perQuestionOf(outcome) === known.perQuestion;
    log(
      `${id}: ${onDisk ? 'trained before, found in its run folder' : 'rebuilt'}, teacher ${(outcome.result.accuracy * 100).toFixed(1)}% (${correct}/${questions}); committed ${(known.accuracy * 100).toFixed(1)}% (${known.correct}/${known.questions})${same ? ', the same answers question for question' : ''}`,
    );
    // A committed build recorded before fingerprints existed takes the fingerprint of a rebuild that
    // answers every held-out question as it did (so later runs are matched by the weights' hash).
    if (same && !known.sha256)
      save(
        id,
        { ...known, sha256: built.backbone.sha256 },
        `results: ${experiment} ${id}: the fingerprint of its rebuild, which answers every question as it did`,
      );
  }
  return built;
}

/**
 * The exported model and the fingerprint of this build of it: its teacher's held-out accuracy and
 * the sha256 of its weight files (what a stage-2 run records, as `backbone`).
 */
function builtBackbone(modelDir, outcome) {
  const hash = createHash('sha256');
  for (const f of readdirSync(modelDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort())
    hash.update(readFileSync(join(modelDir, f)));
  return { modelDir, backbone: { teacherAccuracy: outcome.result.accuracy, sha256: hash.digest('hex') } };
}

/**
 * A backbone is not committed, only its numbers: a fresh machine trains it again, and only the
 * same kernels make the same model. The committed builds were trained on OpenBLAS (Zen kernels,
 * one thread); on KaVa's portable GEMM (no libopenblas-dev when @kava/core was built) the NL
 * seed-2 backbone's held-out accuracy after 250 steps was already 14.5 % instead of 12.8 %.
 */
function warnUnlessOpenBlas() {
  const { addon, detail } = loadNativeAddon();
  const library = addon ? addon.blas.library : `no native addon (${detail})`;
  if (library === 'OpenBLAS') return;
  process.stderr.write(
    `experiment: warning: the trainings here would multiply with ${library}, not OpenBLAS: each backbone trained again here would be another model than the committed build (its stage-2 runs are then flagged as from another build). To rebuild them bit for bit: apt-get install libopenblas-dev, then npm rebuild @kava/core.\n`,
  );
}

// ---- stage 2 ----------------------------------------------------------------------------------
const started = Date.now();
const minutes = (ms) => `${(ms / 60000).toFixed(1)} min`;
const log = (line) => process.stdout.write(`[${minutes(Date.now() - started)}] ${line}\n`);

// The study trains on each trace style only the methods its grid lists there.
const inGrid = (method, trace) => !args.study || STUDY_GRID[trace].includes(method);
const runs = traces.flatMap((trace) =>
  methods
    .filter((method) => inGrid(method, trace))
    .flatMap((method) => seeds.map((seed) => ({ method, trace, seed, id: `${method}-${trace}-seed${seed}` }))),
);
const results = new Map();

async function stage2(run) {
  const presets = ['tiny-llama', ...catalogue[run.method].presets];
  const settings = settingsOfRun(run);
  const done = committed(run.id, settings);
  if (done) return void results.set(run.id, done);
  if (args['report-only']) return;
  const built = await stage1Model(run.trace, run.seed);
  if (!built) return log(`${run.id}: no stage-1 model, skipped`);
  const { modelDir, backbone } = built;
  const t0 = Date.now();
  const dir = join(outDir, run.id);
  const config = stage2Config(run.method, run.trace, run.seed, modelDir);
  setAsideIfStale(dir, settings);
  const outcome = finishedRun(join(dir, 'run')) ?? (await trainRun(dir, presets, config));
  if (!outcome) return log(`${run.id}: no result`);
  const r = record(run.id, { method: run.method, traces: run.trace, seed: run.seed, backbone }, settings, outcome);
  results.set(run.id, r);
  log(
    `${run.id}: ${(r.accuracy * 100).toFixed(1)}% (${r.correct}/${r.questions}), ${minutes(Date.now() - t0)} [${results.size}/${runs.length}]`,
  );
}

log(
  `${experiment}: ${runs.length} stage-2 runs (${args.study ? traces.map((t) => `${t}: ${methods.filter((m) => inGrid(m, t)).length} methods`).join(', ') : `${methods.length} methods x ${traces.length} traces`} x ${seeds.length} seeds: ${traces.join(',')}; seed ${seeds.join(',')}), ${jobs} at a time, runs in ${outDir}, results in ${relative(root, resultsDir)}; trainings run with ${blasSettings}`,
);
// Stage-1 models first (one per trace and seed), so that both cores train backbones before any
// stage-2 run waits for one.
// One queue: first the backbones that an unfinished stage-2 run needs (a fresh machine with every
// result committed trains none), then the stage-2 runs, each waiting for its own backbone only.
const settingsOfRun = (run) =>
  settingsOf(
    ['tiny-llama', ...catalogue[run.method].presets],
    stage2Config(run.method, run.trace, run.seed, 'stage1'),
    stage1Settings(run.trace, run.seed),
  );
const toTrain = new Set(runs.filter((run) => !committed(run.id, settingsOfRun(run))).map((run) => run.id));
const needed = [...new Set(runs.filter((run) => toTrain.has(run.id)).map((run) => `${run.trace}:${run.seed}`))];
const backbones = args['report-only'] ? [] : needed.map((k) => ({ backbone: k.split(':') }));
if (backbones.length) warnUnlessOpenBlas();
// A free core takes a stage-2 run whose backbone is ready before one that would wait for a
// backbone the other core is still training.
const ready = (item) =>
  Boolean(item.backbone) || !toTrain.has(item.id) || stage1Done.has(stage1Id(item.trace, item.seed));
await pool(
  [...backbones, ...runs],
  jobs,
  (item) => (item.backbone ? stage1Model(item.backbone[0], Number(item.backbone[1])) : stage2(item)),
  ready,
);
if (isStopping()) process.exit(130);
const wallMinutes = (Date.now() - started) / 60000;
const { readResults, writeReport } = await import('./lib/replication-report.mjs');
const shared = readResults(gridResultsDir).filter(
  (r) => sharedWithGrid(r.id) && reportGrid.traces.includes(r.traces) && reportGrid.seeds.includes(r.seed),
);
if (study) {
  const { writeStudyReport } = await import('./lib/study-report.mjs');
  await writeStudyReport({ experiment, resultsDir, shared, reportDir, ...reportGrid, wallMinutes, probe: args.probe });
} else {
  await writeReport({ experiment, root, resultsDir, shared, reportDir, ...reportGrid, quick, wallMinutes });
}
