import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ConfigError,
  buildBatch,
  checkSequenceLengths,
  createCompression,
  encodeQuestion,
  initBackend,
  loadRun,
  runTokenizer,
  scorerRows,
  scorerOptions,
  setupModel,
  teacherForward,
  compressTeacher,
  tf,
  type KavaConfig,
  type KavaModel,
  type ResolvedConfig,
} from '@kava/core/app';
import {
  addCommonOptions,
  outputFileFlag,
  runPlugins,
  positiveFlag,
  resolveFromOptions,
  setLayer,
  textFlag,
  type CommonOptions,
} from '../options.js';
import { renderSvg } from '../report/write-report.js';

interface CompressFlags extends CommonOptions {
  checkpoint?: string;
  question: string;
  cot: string;
  answer?: string;
  scorer?: string;
  compare?: string;
  budget?: string;
  json?: boolean;
  out?: string;
}

/** What one scorer kept: `kept[l][h]` = sorted CoT token indices per layer and KV head. */
export interface KeptTokens {
  scorer: string;
  kept: number[][][];
}

/** Runs the teacher on `Q <bot> C <eot> "The answer is:" A <eos>` and compresses its CoT cache with `scorer`. */
function keptBy(
  model: KavaModel,
  resolved: ResolvedConfig,
  scorer: string,
  question: string,
  cot: string,
  answer: string,
  budget: number,
): { kept: KeptTokens; cotTokens: string[] } {
  const { registry } = resolved.plugins;
  const configured = resolved.config.compression;
  // The configured scorer keeps its options; another one (--scorer, --compare) gets its defaults.
  const options = scorerOptions({ scorer, options: scorer === configured.scorer ? configured.options : {} }, registry);
  const compression = createCompression({ ...configured, scorer, options }, registry);
  // The teacher's pass alone, with the query rows the scorer reads.
  const plan = {
    teacher: 'trace' as const,
    student: false,
    latents: budget,
    finalLatents: budget,
    ...scorerRows(compression),
  };
  const example = { id: 'cli', question, steps: [cot], answer };
  const batch = buildBatch([example], model.tokenizer, model.tokens, plan, { dropLastStep: false });
  try {
    const t = batch.teacher!;
    const indices = tf.tidy(() => {
      const out = teacherForward(model.backbone, t, true);
      const result = compressTeacher(compression, model.backbone, out, t, budget, resolved.config.train.seed);
      // -1 marks an empty slot: per layer and head when the evictor budgets them apart (pyramid, adakv).
      const filled = result.headSlotMask ?? tf.reshape(result.slotMask, [1, 1, 1, -1]);
      return tf.mul(tf.cast(result.indices, 'float32'), filled).sub(tf.sub(1, filled));
    });
    const rows = (indices.arraySync() as number[][][][])[0]!;
    indices.dispose();
    const ids = (t.ids.arraySync() as number[][])[0]!;
    const positions = (t.cotPositions.arraySync() as number[][])[0]!;
    const valid = (t.cotMask.arraySync() as number[][])[0]!;
    const cotTokens = positions
      .filter((_, i) => valid[i]! > 0)
      .map((p) => model.tokenizer.decode([ids[p]!], { skipSpecialTokens: false }));
    return {
      kept: { scorer, kept: rows.map((heads) => heads.map((slots) => slots.filter((i) => i >= 0))) },
      cotTokens,
    };
  } finally {
    batch.dispose();
  }
}

/**
 * Refuses a question, CoT or answer longer than a training example keeps of it (train.max*Tokens,
 * which checkSequenceLengths keeps within the model's positions): the teacher would read a sequence
 * no run builds, and a long one exhausts the wasm heap with a bare memory fault.
 */
function checkPieceLengths(model: KavaModel, config: KavaConfig, question: string, cot: string, answer: string): void {
  const { tokenizer } = model;
  const { maxQuestionTokens, maxCotTokens, maxAnswerTokens } = config.train;
  const pieces = [
    ['--question', encodeQuestion(tokenizer, question).length, 'train.maxQuestionTokens', maxQuestionTokens],
    ['--cot', tokenizer.encode(cot).length, 'train.maxCotTokens', maxCotTokens],
    ['--answer', tokenizer.encode(` ${answer}`).length, 'train.maxAnswerTokens', maxAnswerTokens],
  ] as const;
  for (const [flag, tokens, setting, max] of pieces)
    if (tokens > max)
      throw new ConfigError(
        `${flag}: ${tokens} tokens, more than ${setting} (${max}), the most of it a training example keeps; shorten it, or raise the limit (--set ${setting}=${tokens})`,
      );
}

function table(k: KeptTokens, tokens: string[]): string {
  const lines = [`scorer ${k.scorer}: kept CoT tokens per (layer, KV head)`];
  k.kept.forEach((heads, l) =>
    heads.forEach((idx, h) => lines.push(`  L${l} H${h}: ${idx.map((i) => `${i}:${tokens[i]}`).join(' ')}`)),
  );
  return lines.join('\n');
}

function heatmap(results: KeptTokens[], tokens: string[]) {
  const panel = (k: KeptTokens) => ({
    title: `kept by ${k.scorer}`,
    data: {
      values: k.kept.flatMap((heads, l) =>
        heads.flatMap((idx, h) =>
          tokens.map((tok, i) => ({
            row: `L${l} H${h}`,
            token: `${String(i).padStart(3, '0')} ${tok}`,
            kept: idx.includes(i) ? 1 : 0,
          })),
        ),
      ),
    },
    mark: 'rect',
    encoding: {
      x: { field: 'token', type: 'ordinal', title: 'CoT token', sort: 'ascending' },
      y: { field: 'row', type: 'ordinal', title: 'layer / KV head', sort: null },
      color: {
        field: 'kept',
        type: 'quantitative',
        scale: { domain: [0, 1], range: ['#f4f4f4', '#d9480f'] },
        legend: null,
      },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    hconcat: results.map(panel),
    config: { background: 'white' },
  };
}

export function compressCommand(program: Command): void {
  addCommonOptions(program.command('compress'))
    .description('show which CoT tokens each (layer, KV head) keeps under a scorer, as a table and a heatmap image')
    .option('--checkpoint <dir>', 'a trained checkpoint or run directory (default: a fresh model of the preset)')
    .requiredOption('--question <text>', 'the question')
    .requiredOption('--cot <text>', 'the chain of thought to compress')
    .option('--answer <text>', 'the answer (its queries drive attention-based scorers)', '')
    .option('--scorer <name>', 'scorer (default: compression.scorer)')
    .option('--compare <name>', 'a second scorer shown side by side')
    .option('--budget <M>', 'tokens kept per (layer, head) (default: latent.count)')
    .option('--out <file>', 'heatmap image file', 'kept-tokens.svg')
    .option('--json', 'print the kept indices as JSON')
    .action(async (flags: CompressFlags) => {
      // Mistakes in the flags are refused before the model loads.
      const question = textFlag('--question', flags.question, 'the question text');
      const cot = textFlag('--cot', flags.cot, 'the chain of thought to compress');
      const answer = flags.answer ?? '';
      const out = outputFileFlag('--out', flags.out ?? 'kept-tokens.svg');
      const budgetFlag = positiveFlag('--budget', flags.budget);
      let model: KavaModel;
      let resolved: ResolvedConfig;
      let untrained = '';
      if (flags.checkpoint) {
        const run = await loadRun(flags.checkpoint, { ...runPlugins(flags), overrides: setLayer(flags) });
        ({ model, resolved } = run);
      } else {
        resolved = await resolveFromOptions(flags, {});
        // What a scorer keeps depends on the weights: said with the result that these are not a trained model's.
        untrained = `note: no --checkpoint: ${resolved.config.backbone.modelDir ? `the base model in ${resolved.config.backbone.modelDir}, not trained by a run` : `a fresh ${resolved.config.backbone.preset} model with random weights`}; pass --checkpoint RUN to see what a trained model keeps\n`;
        await initBackend(resolved.config.backend); // before any tensor exists
        model = setupModel(resolved.config, resolved.plugins.registry, await runTokenizer(resolved.config));
      }
      try {
        checkSequenceLengths(resolved.config, model.backbone.config.maxPositionEmbeddings);
        checkPieceLengths(model, resolved.config, question, cot, answer);
        const budget = budgetFlag ?? resolved.config.latent.count;
        const scorers = [flags.scorer ?? resolved.config.compression.scorer, ...(flags.compare ? [flags.compare] : [])];
        let tokens: string[] = [];
        const results = scorers.map((s) => {
          const r = keptBy(model, resolved, s, question, cot, answer, budget);
          tokens = r.cotTokens;
          return r.kept;
        });
        process.stderr.write(untrained);
        writeFileSync(out, await renderSvg(heatmap(results, tokens) as never));
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ budget, cotTokens: tokens, scorers: Object.fromEntries(results.map((r) => [r.scorer, r.kept])), image: out }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`CoT: ${tokens.length} tokens, budget ${budget} per (layer, KV head)\n`);
          for (const r of results) process.stdout.write(`${table(r, tokens)}\n`);
          process.stdout.write(`heatmap: ${out}\n`);
        }
      } finally {
        model.dispose();
      }
    });
}
