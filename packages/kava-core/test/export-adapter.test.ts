// The PEFT adapter export, checked against PyTorch: test/fixtures/peft-tiny-llama holds what
// exportAdapter writes for a LoRA model on test/fixtures/hf-tiny-llama, and the logits that
// scripts/make-peft-reference.py computes with PyTorch from the base model + that adapter (PEFT's
// semantics: W + (alpha / r)·B·A on each target module, the saved embedding and head tables as
// modules_to_save). No Python runs here.
//
// Regenerate (after a deliberate change to the export):
//   KAVA_WRITE_PEFT_FIXTURE=1 node --experimental-vm-modules node_modules/jest/bin/jest.js packages/kava-core/test/export-adapter.test.ts
//   /usr/bin/python3 scripts/make-peft-reference.py
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  tf,
  initBackend,
  ConfigError,
  exportAdapter,
  loadHFBackbone,
  loadLoraAdapter,
  backboneFamilies,
  resolveConfig,
  runTokenizer,
  setupModel,
  SafetensorsFile,
  ADAPTER_FILES,
  type KavaConfigInput,
  type KavaModel,
  type KavaConfig,
} from '@kava/core/internal';
import { REPO, tempProject } from './helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const BASE = join(REPO, 'test/fixtures/hf-tiny-llama');
const FIXTURE = join(REPO, 'test/fixtures/peft-tiny-llama');
/** base_model_name_or_path in the committed fixture: relative, so it holds on any checkout. */
const BASE_NAME = '../hf-tiny-llama';
const LORA: KavaConfigInput = {
  backbone: { modelDir: BASE, lora: { enabled: true, rank: 4, alpha: 8, dropout: 0 } },
  latent: { count: 3 },
};

beforeAll(async () => {
  await initBackend('cpu');
});

/**
 * A LoRA model on the tiny HF checkpoint as a run builds it, with every trained tensor (adapters,
 * added token rows, projection) set here from fixed seeds: a fresh B is 0, and the fixture must
 * not depend on how initialisation draws its values, only on how the export lays them out.
 */
async function loraModel(overrides: KavaConfigInput = LORA): Promise<{ model: KavaModel; config: KavaConfig }> {
  const { config, plugins } = await resolveConfig({
    cwd: tempProject(),
    presets: ['tiny-llama'],
    overrides,
    builtinPlugins: BUILTIN_PLUGINS,
  });
  const model = setupModel(config, plugins.registry, await runTokenizer(config));
  let seed = 100;
  const fill = (v: tf.Variable, mean = 0, std = 0.05) =>
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, mean, std, 'float32', seed++)));
  for (const ad of model.backbone.adapters?.byPath.values() ?? []) {
    fill(ad.a, 0, 0.1);
    fill(ad.b);
  }
  const backbone = model.backbone;
  const added = backbone.vocabSize - backbone.baseVocabSize;
  if (added > 0) {
    const H = backbone.config.hiddenSize;
    tf.tidy(() =>
      backbone.setAddedRows(
        tf.randomNormal([added, H], 0, 0.3, 'float32', seed++),
        backbone.config.tieWordEmbeddings ? null : tf.randomNormal([added, H], 0, 0.3, 'float32', seed++),
      ),
    );
  }
  for (const [name, v] of model.projection?.variables ?? []) fill(v, name.endsWith('norm.weight') ? 1 : 0, 0.2);
  return { model, config };
}

const tensorsOf = (file: string) => {
  const st = SafetensorsFile.open(file);
  try {
    return new Map(
      [...st.entries.keys()].map((n) => [n, { shape: st.entries.get(n)!.shape, data: Float32Array.from(st.read(n)) }]),
    );
  } finally {
    st.close();
  }
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('exportAdapter', () => {
  if (process.env.KAVA_WRITE_PEFT_FIXTURE) {
    it('writes the committed fixture', async () => {
      const { model, config } = await loraModel();
      for (const f of existsSync(FIXTURE) ? readdirSync(FIXTURE) : [])
        if (!f.startsWith('reference')) rmSync(join(FIXTURE, f));
      const keep = existsSync(FIXTURE)
        ? readdirSync(FIXTURE).map((f) => [f, readFileSync(join(FIXTURE, f))] as const)
        : [];
      rmSync(FIXTURE, { recursive: true, force: true });
      await exportAdapter(model, config, FIXTURE, { baseModel: BASE_NAME });
      for (const [f, bytes] of keep) writeFileSync(join(FIXTURE, f), bytes);
      model.dispose();
    });
    return;
  }

  it("writes PEFT's adapter, the tokenizer with the added tokens, the projection and the latent settings: the committed fixture", async () => {
    const { model, config } = await loraModel();
    const out = join(tempProject(), 'adapter');
    const exported = await exportAdapter(model, config, out, { baseModel: BASE_NAME });
    model.dispose();
    expect(exported.files).toEqual(
      [
        'adapter_config.json',
        'adapter_model.safetensors',
        ADAPTER_FILES.settings,
        ADAPTER_FILES.projection,
        ADAPTER_FILES.readme,
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
    for (const f of ['adapter_config.json', 'tokenizer.json', 'tokenizer_config.json', ADAPTER_FILES.settings]) {
      expect([f, readFileSync(join(out, f), 'utf8')]).toEqual([f, readFileSync(join(FIXTURE, f), 'utf8')]);
    }
    for (const f of ['adapter_model.safetensors', ADAPTER_FILES.projection]) {
      const mine = tensorsOf(join(out, f));
      const committed = tensorsOf(join(FIXTURE, f));
      expect([...mine.keys()]).toEqual([...committed.keys()]);
      for (const [name, t] of mine) {
        expect([name, t.shape]).toEqual([name, committed.get(name)!.shape]);
        expect(maxAbsDiff(t.data, committed.get(name)!.data)).toBeLessThanOrEqual(1e-7);
      }
    }
    const adapterConfig = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(adapterConfig).toMatchObject({
      peft_type: 'LORA',
      base_model_name_or_path: BASE_NAME,
      r: 4,
      lora_alpha: 8,
      modules_to_save: ['embed_tokens', 'lm_head'],
    });
    const settings = JSON.parse(readFileSync(join(out, ADAPTER_FILES.settings), 'utf8'));
    expect(settings).toMatchObject({
      latents: 3,
      mode: 'jacobi',
      iterations: 3,
      tokens: { '<bot>': 96, '<eot>': 97, '<latent>': 98 },
    });
    const tokenizer = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    expect(tokenizer.added_tokens.map((t: { content: string; id: number }) => [t.content, t.id])).toEqual(
      expect.arrayContaining([
        ['<bot>', 96],
        ['<eot>', 97],
        ['<latent>', 98],
      ]),
    );
  });

  it("base model + exported adapter: the project's logits equal PyTorch's (<= 1e-4), and so does the projection", async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as { input_ids: number[][] };
    const expected = tensorsOf(join(FIXTURE, 'reference.safetensors'));
    // The model as trained (before export) ...
    const { model } = await loraModel();
    const logitsOf = (m: { forward: KavaModel['backbone']['forward'] }) =>
      tf.tidy(
        () =>
          m.forward({ inputIds: tf.tensor2d(ref.input_ids, undefined, 'int32') }).logits!.dataSync() as Float32Array,
      );
    expect(ref.input_ids.flat()).toEqual(expect.arrayContaining([96, 97, 98])); // the added tokens' rows are covered
    expect(maxAbsDiff(logitsOf(model.backbone), expected.get('logits')!.data)).toBeLessThanOrEqual(1e-4);
    const h = expected.get('projection.input')!;
    const projected = tf.tidy(() => model.projection!.apply(tf.tensor(h.data, h.shape)).dataSync() as Float32Array);
    expect(maxAbsDiff(projected, expected.get('projection.output')!.data)).toBeLessThanOrEqual(1e-4);
    model.dispose();
    // ... and the committed adapter loaded back onto the base checkpoint.
    const { config, plugins } = await resolveConfig({
      cwd: tempProject(),
      presets: ['tiny-llama'],
      overrides: LORA,
      builtinPlugins: BUILTIN_PLUGINS,
    });
    const { backbone } = loadHFBackbone(config.backbone.modelDir!, backboneFamilies(plugins.registry));
    loadLoraAdapter(backbone, FIXTURE);
    expect(maxAbsDiff(logitsOf(backbone), expected.get('logits')!.data)).toBeLessThanOrEqual(1e-4);
    backbone.dispose();
    // The adapter matters: without it the logits are far from the reference.
    const { backbone: bare } = loadHFBackbone(config.backbone.modelDir!, backboneFamilies(plugins.registry));
    bare.resizeVocab(99);
    expect(maxAbsDiff(logitsOf(bare), expected.get('logits')!.data)).toBeGreaterThan(1e-2);
    bare.dispose();
  });

  it('refuses a model without adapters, a random base, a non-empty folder and a file, writing nothing', async () => {
    const full = await loraModel({ backbone: { modelDir: BASE } });
    const dir = tempProject();
    await expect(exportAdapter(full.model, full.config, join(dir, 'a'))).rejects.toThrow(
      /trained every weight.*--merged/,
    );
    full.model.dispose();
    const random = await loraModel({ backbone: { lora: { enabled: true, rank: 4 } } });
    await expect(exportAdapter(random.model, random.config, join(dir, 'b'))).rejects.toThrow(
      /randomly initialised.*--merged/,
    );
    random.model.dispose();
    const { model, config } = await loraModel();
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'mine.txt'), 'keep me');
    await expect(exportAdapter(model, config, join(dir, 'c'))).rejects.toThrow(ConfigError);
    expect(readdirSync(join(dir, 'c'))).toEqual(['mine.txt']);
    // a file is refused as one (not as ENOTDIR), and never replaced, even when asked to replace
    writeFileSync(join(dir, 'd.txt'), 'keep me too');
    await expect(exportAdapter(model, config, join(dir, 'd.txt'), { replace: true })).rejects.toThrow(
      `export: ${join(dir, 'd.txt')} is a file, not a folder`,
    );
    expect(readdirSync(dir).sort()).toEqual(['c', 'd.txt']);
    model.dispose();
  });
});
