import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ConfigError,
  addModelTokens,
  isHubDataset,
  plannedSteps,
  teacherWarmupPlan,
  evaluationPlan,
  heldOutExamples,
  evaluatedCount,
  runTokenizer,
  formatMemoryEstimate,
  assertFitsBackend,
  initBackend,
  shapeDecoderConfig,
  readHFConfig,
  checkRunPlan,
  checkBatchSize,
  checkFreshRunDir,
  checkSequenceLengths,
  resolveBackboneShape,
  resolveRunConfig,
  backboneFamilies,
  modelDirHint,
  train,
  mergeConfigs,
  type KavaConfigInput,
  type ResolvedConfig,
  type DecoderConfig,
  type RunData,
} from '@kava/core/app';
import {
  addCommonOptions,
  describeResolution,
  runPlugins,
  positiveFlag,
  resolvedJson,
  resolveFromOptions,
  setLayer,
  type CommonOptions,
} from '../options.js';
import { EvalProgress, TrainProgress } from '../progress.js';
import { runBanner } from '../banner.js';
import { estimateStep, fallBackFromWasm, planStep } from '../run-estimate.js';
import { writeReport } from '../report/write-report.js';
import { answerLevelsLine } from '../report/answer-levels.js';
import { CommandExit, STOP_SIGNALS, type StopSignal } from '../exit-codes.js';

interface TrainFlags extends CommonOptions {
  modelDir?: string;
  model?: string;
  data?: string;
  out?: string;
  steps?: string;
  epochs?: string;
  resume?: string;
  runDir?: string;
  seed?: string;
  dryRun?: boolean;
}

/** Command-line flags as a config layer (highest precedence). */
function flagsToConfig(flags: TrainFlags): KavaConfigInput {
  if (flags.steps !== undefined && flags.epochs !== undefined)
    throw new ConfigError('--steps and --epochs: give one of them, not both');
  const layer: KavaConfigInput = {};
  const trainLayer: NonNullable<KavaConfigInput['train']> = {};
  // A path typed on the command line is relative to where it was typed, never to the config
  // file's folder (paths inside a config file are relative to that file); the run records it whole.
  if (flags.model !== undefined && flags.modelDir !== undefined)
    throw new ConfigError('--model and --model-dir: give one of them, not both');
  if (flags.modelDir) layer.backbone = { modelDir: resolve(flags.modelDir) };
  // An id replaces a model directory a config file may name (the two would conflict).
  if (flags.model) layer.backbone = { model: flags.model, modelDir: null };
  if (flags.data) layer.data = { train: isHubDataset(flags.data) ? flags.data : resolve(flags.data) };
  if (flags.out) trainLayer.out = resolve(flags.out);
  const steps = positiveFlag('--steps', flags.steps);
  if (steps !== undefined) trainLayer.steps = steps;
  const epochs = positiveFlag('--epochs', flags.epochs, false);
  if (epochs !== undefined) Object.assign(trainLayer, { epochs, steps: null });
  if (flags.seed !== undefined) {
    const seed = Number(flags.seed);
    if (!Number.isInteger(seed))
      throw new ConfigError(`--seed: expected an integer, got ${JSON.stringify(flags.seed)}`);
    trainLayer.seed = seed;
  }
  if (Object.keys(trainLayer).length) layer.train = trainLayer;
  return layer;
}

/**
 * With --resume the run's own saved configuration, with only the flags given on top (paths in
 * them taken from the current folder). A config file or presets would replace the run's settings
 * wholesale, so they are refused.
 */
async function resumeConfig(flags: TrainFlags): Promise<ResolvedConfig> {
  if (flags.config || flags.preset?.length) {
    throw new ConfigError(
      `--resume ${flags.resume}: the run continues with its own saved configuration; --config and --preset cannot be combined with it (change single settings with --set key=value, --steps or --backend)`,
    );
  }
  const layer = mergeConfigs(setLayer(flags), flagsToConfig(flags)) as KavaConfigInput;
  if (flags.backend) layer.backend = flags.backend;
  return resolveRunConfig(flags.resume!, { overrides: layer, ...runPlugins(flags) });
}

/** The decoder a run will build, without allocating it (for --dry-run): its vocabulary as the run's tokenizer makes it. */
async function plannedDecoder(resolved: ResolvedConfig, data: RunData): Promise<DecoderConfig> {
  const { config, plugins } = resolved;
  if (config.backbone.modelDir)
    return readHFConfig(config.backbone.modelDir, backboneFamilies(plugins.registry)).config;
  const { family, shape } = resolveBackboneShape(plugins.registry, config.backbone.preset);
  const tokenizer = await runTokenizer(config, { trainExamples: data.train });
  addModelTokens(tokenizer);
  const vocab = shape.architecture.vocabSize ?? tokenizer.vocabSize;
  return shapeDecoderConfig(family, shape, { vocabSize: vocab, overrides: config.backbone.overrides });
}

export function trainCommand(program: Command): void {
  addCommonOptions(program.command('train'))
    .description('train a model (default: the tiny preset on the built-in synthetic task), then evaluate it')
    .option('--model-dir <dir>', 'local Hugging Face model directory (for llama-1b, llama-3b, qwen-0.5b)')
    .option(
      '--model <id>',
      'a Hugging Face model id, org/name[@revision], instead of --model-dir: read from the Hugging Face cache (HF_HUB_CACHE, HF_HOME), downloaded into it first when missing (not with HF_HUB_OFFLINE=1)',
    )
    .option(
      '--data <file>',
      'training data: a file, or a Hugging Face dataset hf:org/name[@revision][:split] (split default: train); default: the built-in synthetic task',
    )
    .option('--out <dir>', 'folder for run directories (train.out)')
    .option('--steps <n>', 'optimiser steps')
    .option('--epochs <n>', 'epochs over the training data (instead of --steps)')
    .option(
      '--resume <run>',
      'continue a run from its latest checkpoint (run directory or checkpoint folder) with its own saved settings; other flags change only what they name',
    )
    .option(
      '--run-dir <dir>',
      'write the run into this folder instead of a new dated one under --out (must not hold a run unless --resume names it)',
    )
    .option('--seed <n>', 'random seed')
    .option('--dry-run', 'print the resolved config, parameter count, memory estimate and plan, then exit')
    .action(async (flags: TrainFlags) => {
      const resolved = flags.resume ? await resumeConfig(flags) : await resolveFromOptions(flags, flagsToConfig(flags));
      const { config } = resolved;
      if (config.backbone.modelDir === null) {
        // A released checkpoint's preset without weights: say what to download before anything else.
        const { shape } = resolveBackboneShape(resolved.plugins.registry, config.backbone.preset);
        if (shape.checkpoint) throw new ConfigError(modelDirHint(config.backbone.preset, shape.checkpoint.repo));
      }
      checkRunPlan(resolved);
      let backend = await initBackend(config.backend);
      const plan = await planStep(resolved);
      const decoder = await plannedDecoder(resolved, plan.data);
      checkSequenceLengths(config, decoder.maxPositionEmbeddings);
      const batchNote = checkBatchSize(config, plan.data.train.length);
      let estimate = estimateStep(resolved, decoder, backend, plan);
      const fallback = await fallBackFromWasm(resolved, backend, estimate);
      const fallbackNote = fallback
        ? `backend auto: the step needs about ${(estimate.heap / 2 ** 30).toFixed(2)} GiB in the backend, more than the wasm heap's 4 GiB; the frozen base lives in native memory, so the cpu backend runs it`
        : null;
      if (fallback) {
        backend = fallback;
        estimate = estimateStep(resolved, decoder, backend, plan);
      }
      if (flags.dryRun) {
        process.stdout.write(resolvedJson(resolved));
        process.stdout.write(`${backend.description}\n`);
        process.stdout.write(`${describeResolution(resolved)}\n`);
        process.stdout.write(
          `model: ${decoder.family} ${decoder.numLayers} layers, hidden ${decoder.hiddenSize}, ${decoder.numHeads}/${decoder.numKvHeads} heads, vocab ${decoder.vocabSize}\n`,
        );
        if (fallbackNote) process.stdout.write(`${fallbackNote}\n`);
        if (batchNote) process.stdout.write(`${batchNote}\n`);
        process.stdout.write(`memory estimate from the ${plan.basis}\n${formatMemoryEstimate(estimate)}\n`);
        const totalSteps = plannedSteps(config, plan.data.train.length);
        const steps =
          config.train.steps === null
            ? `${config.train.epochs} epochs (${totalSteps} steps over ${plan.data.train.length} examples)`
            : `${config.train.steps} steps`;
        for (const line of runBanner(resolved, backend.name)) process.stdout.write(`${line}\n`);
        process.stdout.write(
          `plan: ${steps} of batch ${config.train.batchSize} (micro-batches of ${config.train.microBatchSize}), lr ${config.train.lr}\n`,
        );
        const warmup = teacherWarmupPlan(
          config.train.teacherWarmup,
          totalSteps,
          (config.losses['teacher-ce']?.weight ?? 0) > 0 && config.train.teacher !== 'frozen',
        );
        if (warmup) process.stdout.write(`${warmup}\n`);
        const questions = evaluatedCount(config, heldOutExamples(config, plan.data).length);
        process.stdout.write(`${evaluationPlan(config.train.evalEvery, totalSteps, questions)}\n`);
        return;
      }
      assertFitsBackend(estimate, `training ${config.backbone.preset}`);
      // Checked again by the trainer once it holds the folder's lock; here before any model is built.
      if (flags.runDir && !flags.resume && existsSync(flags.runDir)) checkFreshRunDir(flags.runDir, flags.runDir);
      const progress = new TrainProgress();
      if (fallbackNote) progress.log(fallbackNote);
      progress.log(backend.description);
      for (const line of runBanner(resolved, backend.name)) progress.log(line);
      let evalBar: EvalProgress | null = null;
      // SIGINT (Ctrl-C) and SIGTERM (timeout, docker stop, systemd, Slurm) both finish the step,
      // save a checkpoint and exit 130 / 143; a second signal exits at once. Checkpoints become
      // visible only by a rename when complete, so quitting mid-save never shows a partial one.
      const controller = new AbortController();
      let stoppedBy: StopSignal | null = null;
      const onSignal = (signal: StopSignal) => {
        if (controller.signal.aborted) process.exit(STOP_SIGNALS[signal]);
        stoppedBy = signal;
        progress.log(
          `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after this micro-batch (or evaluation batch) and saving the last whole step (send it again to quit at once)`,
        );
        controller.abort();
      };
      for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(signal, onSignal);
      try {
        const result = await train({
          resolved,
          data: plan.data,
          ...(flags.resume ? { resume: flags.resume } : {}),
          ...(flags.runDir ? { runDir: flags.runDir } : {}),
          onStep: (m) => progress.step(m),
          onEvalProgress: (done, total, pass) => {
            progress.stop();
            evalBar ??= new EvalProgress(
              `evaluating held-out questions${pass ? ` (${pass})` : ''}`,
              total,
              process.stdout,
            );
            evalBar.update(done);
            if (done >= total) {
              evalBar.stop();
              evalBar = null;
            }
          },
          log: (line) => progress.log(line),
          signal: controller.signal,
        });
        progress.stop();
        const report = await writeReport(result.runDir);
        process.stdout.write(`run: ${result.runDir}\n`);
        process.stdout.write(
          result.trainedSteps === 0
            ? `steps: ${result.steps}/${result.totalSteps}, none trained now${result.interrupted ? ', interrupted' : ''}\n`
            : `steps: ${result.steps}/${result.totalSteps} in ${result.wallSeconds.toFixed(0)} s (median ${Math.round(result.tokensPerSecond)} tokens/s)${result.interrupted ? ', interrupted' : ''}; peak memory ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB resident\n`,
        );
        if (result.evaluation) {
          const e = result.evaluation;
          process.stdout.write(
            `held-out accuracy: ${(100 * e.accuracy).toFixed(1)}% (${e.correct}/${e.questions}, ${e.mode}), ${e.forwardPassesPerQuestion.toFixed(1)} forward passes and ${e.kvEntriesPerQuestion.toFixed(1)} KV entries per question\n`,
          );
          const levels = answerLevelsLine(e);
          if (levels) process.stdout.write(`${levels}\n`);
        }
        process.stdout.write(`report: ${report.image} and ${report.summary}\n`);
        if (result.interrupted && stoppedBy) throw new CommandExit(STOP_SIGNALS[stoppedBy]);
      } finally {
        for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.off(signal, onSignal);
        progress.stop();
      }
    });
}
