// Checks before training: each refuses (or warns about) a run that would otherwise train something
// other than what was asked for, with a message naming the preset, file or field.
import { join } from 'node:path';
import {
  checkCheckpointFamily,
  checkRealSizeData,
  checkSequenceLengths,
  checkTraces,
  collect,
  ConfigError,
  DataRecordError,
  estimateMemory,
  formatMemoryEstimate,
  gsm8kAugFormat,
  icotFormat,
  loadRunData,
  readHFConfig,
  backboneFamilies,
  resolveConfig,
  type Example,
  type KavaConfigInput,
} from '@kava/core/internal';
import { REPO, tempProject } from './helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const LLAMA_DIR = join(REPO, 'test/fixtures/hf-tiny-llama');
const QWEN_DIR = join(REPO, 'test/fixtures/hf-tiny-qwen');
const resolveWith = (presets: string[], overrides: KavaConfigInput = {}) =>
  resolveConfig({
    cwd: tempProject(),
    presets,
    overrides,
    defaultPresets: ['tiny-llama'],
    builtinPlugins: BUILTIN_PLUGINS,
  });
const example = (steps: string[]): Example => ({ id: 'x', question: 'q', steps, answer: '1' });

describe("backbone preset family vs the checkpoint's model_type", () => {
  it('refuses --preset llama-1b with a Qwen2 directory, naming the Qwen presets', async () => {
    const { config, plugins } = await resolveWith(['llama-1b'], { backbone: { modelDir: QWEN_DIR } });
    expect(() => checkCheckpointFamily(config, plugins.registry)).toThrow(ConfigError);
    expect(() => checkCheckpointFamily(config, plugins.registry)).toThrow(
      /backbone preset "llama-1b" is a llama model, but backbone\.modelDir .*hf-tiny-qwen holds a qwen2 checkpoint \(config\.json model_type "qwen2"\)\. Name a qwen2 preset instead: --preset (tiny-qwen|qwen-0\.5b)/,
    );
  });
  it("accepts a preset of the checkpoint's family", async () => {
    const { config, plugins } = await resolveWith(['llama-1b'], { backbone: { modelDir: LLAMA_DIR } });
    expect(() => checkCheckpointFamily(config, plugins.registry)).not.toThrow();
  });
});

describe('a real-size preset needs data (or the synthetic data preset, by name)', () => {
  it('refuses llama-1b with no data file, saying what it would train on and how to ask for it', async () => {
    const resolved = await resolveWith(['llama-1b'], { backbone: { modelDir: LLAMA_DIR } });
    expect(() => checkRealSizeData(resolved)).toThrow(
      /preset "llama-1b": .*no training data is given, so it would train on the built-in synthetic task\. Pass --data FILE.*--preset llama-1b,synthetic/,
    );
  });
  it('accepts a data file, or the synthetic preset named on purpose; tiny presets need neither', async () => {
    expect(() => checkRealSizeData(resolveSync)).not.toThrow();
    expect(() => checkRealSizeData(synthetic)).not.toThrow();
    expect(() => checkRealSizeData(tiny)).not.toThrow();
  });
  let resolveSync: Awaited<ReturnType<typeof resolveWith>>;
  let synthetic: typeof resolveSync;
  let tiny: typeof resolveSync;
  beforeAll(async () => {
    resolveSync = await resolveWith(['llama-1b'], {
      backbone: { modelDir: LLAMA_DIR },
      data: { train: 'train.jsonl' },
    });
    synthetic = await resolveWith(['llama-1b', 'synthetic'], { backbone: { modelDir: LLAMA_DIR } });
    tiny = await resolveWith([]);
  });
});

describe('a method that learns from traces, given data without them', () => {
  it('refuses when no record has a trace, suggesting no-cot or a trace field', async () => {
    const { config } = await resolveWith(['kava'], { data: { train: 'qa.jsonl' } });
    const data = { train: [example([]), example([])], test: [], validation: [], source: 'qa.jsonl', skipped: 0 };
    expect(() => checkTraces(config, data)).toThrow(
      /data\.train qa\.jsonl: none of its 2 records has a reasoning trace, which method "kava" learns from.*--preset no-cot.*GSM8k-AUG \("steps" list or "cot" text\)/,
    );
  });
  it('accepts it for no-cot, and warns with a count when only some records lack one', async () => {
    const noCot = (await resolveWith(['no-cot'], { data: { train: 'qa.jsonl' } })).config;
    expect(checkTraces(noCot, { train: [example([])], test: [], validation: [], source: '', skipped: 0 })).toBeNull();
    const kava = (await resolveWith(['kava'], { data: { train: 'mixed.jsonl' } })).config;
    expect(
      checkTraces(kava, {
        train: [example([]), example(['<<1+1=2>>'])],
        test: [],
        validation: [],
        source: '',
        skipped: 0,
      }),
    ).toMatch(/1 of 2 training records in mixed\.jsonl have no reasoning trace/);
  });
  it('a GSM8k-Hard file (question and answer only) as training data is refused before any model is built', async () => {
    const dir = tempProject({ 'hard.jsonl': '{"input":"What is 2+3?","code":"x","target":5}\n' });
    const { config, plugins } = await resolveConfig({
      cwd: dir,
      overrides: { data: { train: 'hard.jsonl' } },
      defaultPresets: ['tiny-llama'],
      builtinPlugins: BUILTIN_PLUGINS,
    });
    const data = await loadRunData(config, plugins.registry, (p) => join(dir, p));
    expect(() => checkTraces(config, data)).toThrow(/none of its 1 records has a reasoning trace/);
  });
});

describe('answers that are not numbers', () => {
  it('are rejected by name, or skipped and counted with data.skipInvalid', async () => {
    const dir = tempProject({
      'aug.jsonl':
        '{"question":"q1","steps":["<<1+1=2>>"],"answer":"2"}\n{"question":"q2","steps":["<<2*6=12>>"],"answer":"twelve"}\n',
      'icot.txt': 'q1||<<1+1=2>> #### 2\nq2||<<2*6=12>> #### twelve\n',
    });
    await expect(collect(gsm8kAugFormat.open(join(dir, 'aug.jsonl')).examples({ skipInvalid: false }))).rejects.toThrow(
      DataRecordError,
    );
    await expect(collect(gsm8kAugFormat.open(join(dir, 'aug.jsonl')).examples({ skipInvalid: false }))).rejects.toThrow(
      /aug\.jsonl:2: field "answer": expected a number, got "twelve"/,
    );
    const source = gsm8kAugFormat.open(join(dir, 'aug.jsonl'));
    expect((await collect(source.examples({ skipInvalid: true }))).map((e) => e.answer)).toEqual(['2']);
    expect(source.skipped).toBe(1);
    await expect(collect(icotFormat.open(join(dir, 'icot.txt')).examples({ skipInvalid: false }))).rejects.toThrow(
      /icot\.txt:2: field "answer": expected a number, got "twelve"/,
    );
  });
  it('keep their written form when they are numbers (thousands commas removed)', async () => {
    const dir = tempProject({
      'aug.jsonl':
        '{"question":"q","cot":"<<1000+234=1234>>","answer":"1,234"}\n{"question":"q","cot":"<<1/2=0.5>>","answer":0.5}\n',
    });
    expect(
      (await collect(gsm8kAugFormat.open(join(dir, 'aug.jsonl')).examples({ skipInvalid: false }))).map(
        (e) => e.answer,
      ),
    ).toEqual(['1234', '0.5']);
  });
});

describe('a missing data file is named as such', () => {
  it('blames data.train, not data.format', async () => {
    const dir = tempProject();
    const { config, plugins } = await resolveConfig({
      cwd: dir,
      overrides: { data: { train: 'nope.jsonl' } },
      defaultPresets: ['tiny-llama'],
      builtinPlugins: BUILTIN_PLUGINS,
    });
    const err = await loadRunData(config, plugins.registry, (p) => join(dir, p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`data.train: data file not found: ${join(dir, 'nope.jsonl')}`);
  });
});

describe('sequences longer than the model has positions (issue 43 finding 10)', () => {
  it('refuse latent.count 1e5 or a long written CoT before the run, naming the largest part', async () => {
    const { config } = await resolveWith(['tiny-llama'], { latent: { count: 100000 } });
    const { maxQuestionTokens: q, maxAnswerTokens: a } = config.train;
    expect(() => checkSequenceLengths(config, 2048)).toThrow(
      new ConfigError(
        `latent.count 100000: the latent student's sequence would be up to ${q} (train.maxQuestionTokens) + 100000 (latent.count) + ${a} (train.maxAnswerTokens) = ${q + 100000 + a} tokens plus a few delimiters, more than the model's 2048 positions (maxPositionEmbeddings); lower latent.count`,
      ),
    );
    const cot = (await resolveWith(['tiny-llama'], { train: { maxCotTokens: 4000 } })).config;
    expect(() => checkSequenceLengths(cot, 2048)).toThrow(
      /^train\.maxCotTokens 4000: the sequence with the written CoT/,
    );
  });

  it('accept the presets, and leave latent.count alone for methods without latents', async () => {
    for (const presets of [['tiny-llama'], ['tiny-llama', 'codi'], ['tiny-qwen', 'pccot']]) {
      const { config } = await resolveWith(presets);
      expect(() => checkSequenceLengths(config, 2048)).not.toThrow();
    }
    const noCot = (await resolveWith(['tiny-llama', 'no-cot'], { latent: { count: 100000 } })).config;
    expect(() => checkSequenceLengths(noCot, 2048)).not.toThrow();
  });
});

describe('parameter counts', () => {
  it('count LoRA adapters among the parameters, so trainable is never more than total', async () => {
    const { registry } = (await resolveWith([])).plugins;
    const decoder = readHFConfig(LLAMA_DIR, backboneFamilies(registry)).config;
    const full = estimateMemory(decoder, { batch: 1, seqLen: 8, backend: 'cpu' });
    expect(full.trainableParameters).toBe(full.parameters);
    const lora = estimateMemory(decoder, {
      batch: 1,
      seqLen: 8,
      backend: 'cpu',
      lora: { rank: 128, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    });
    // Rank 128 on a 64-wide model: the adapters outnumber the base weights, and are counted in the total.
    expect(lora.trainableParameters).toBeGreaterThan(full.parameters);
    expect(lora.parameters).toBe(full.parameters + lora.trainableParameters);
    expect(formatMemoryEstimate(lora)).toMatch(
      /^parameters: [\d.]+k \([\d.]+k trainable: LoRA adapters on [\d.]+k frozen\)/,
    );
  });
});
