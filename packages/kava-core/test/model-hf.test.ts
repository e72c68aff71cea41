import { cpSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  tf,
  initBackend,
  loadHFBackbone,
  loadHFModel,
  readHFConfig,
  saveHFModel,
  SafetensorsFile,
  writeSafetensors,
  KavaError,
} from '@kava/core/internal';
import { llamaFamily } from '@kava/plugin-backbone-llama';
import { qwenFamily } from '@kava/plugin-backbone-qwen';
import { REPO, tempProject } from './helpers.js';

const FAMILIES = [llamaFamily, qwenFamily];
const LLAMA = join(REPO, 'test/fixtures/hf-tiny-llama');
const QWEN = join(REPO, 'test/fixtures/hf-tiny-qwen');

beforeAll(async () => {
  await initBackend('cpu');
});

/** A writable copy of a fixture directory. */
function copyOf(fixture: string): string {
  const dir = tempProject();
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

/** Rewrites `dir`/model.safetensors through `edit` (name -> {shape, data}). */
function editWeights(dir: string, edit: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void): void {
  const path = join(dir, 'model.safetensors');
  const file = SafetensorsFile.open(path);
  const tensors = new Map([...file.entries].map(([name, e]) => [name, { shape: e.shape, data: file.read(name) }]));
  file.close();
  edit(tensors);
  writeSafetensors(
    path,
    [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
  );
}

function editJson(path: string, edit: (json: Record<string, any>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}

function loadError(dir: string): Error {
  try {
    loadHFBackbone(dir, FAMILIES).backbone.dispose();
  } catch (err) {
    expect(err).toBeInstanceOf(KavaError);
    expect((err as KavaError).exitCode).toBe(2); // a malformed model directory is an input error
    return err as Error;
  }
  throw new Error(`loading ${dir} did not fail`);
}

describe('loading a Hugging Face model directory', () => {
  test('config.json maps to the family its model_type names', () => {
    const llama = readHFConfig(LLAMA, FAMILIES);
    expect(llama.family.name).toBe('llama');
    expect(llama.config).toMatchObject({
      family: 'llama',
      vocabSize: 96,
      hiddenSize: 64,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      tieWordEmbeddings: false,
      attentionBias: false,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 64,
      },
    });
    const qwen = readHFConfig(QWEN, FAMILIES);
    expect(qwen.family.name).toBe('qwen2');
    expect(qwen.config).toMatchObject({
      headDim: 16,
      tieWordEmbeddings: true,
      attentionBias: true,
      ropeScaling: null,
      rmsNormEps: 1e-6,
    });
  });

  test('save then load gives the same weights bit for bit and the same config', async () => {
    const { backbone, family } = loadHFBackbone(LLAMA, FAMILIES);
    const dir = tempProject();
    await saveHFModel(backbone, dir, family);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(saved).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      rope_scaling: { rope_type: 'llama3', factor: 8 },
    });
    const again = loadHFBackbone(dir, FAMILIES).backbone;
    expect(again.config).toEqual(backbone.config);
    const before = backbone.checkpointTensors();
    const after = again.checkpointTensors();
    expect(after.map((t) => t.name)).toEqual(before.map((t) => t.name));
    before.forEach((t, i) => expect(Buffer.from(after[i]!.read().buffer)).toEqual(Buffer.from(t.read().buffer)));
    backbone.dispose();
    again.dispose();
  });

  test('saving a Qwen model keeps its q/k/v biases and tied head', async () => {
    const { backbone, family } = loadHFBackbone(QWEN, FAMILIES);
    const dir = tempProject();
    await saveHFModel(backbone, dir, family);
    const file = SafetensorsFile.open(join(dir, 'model.safetensors'));
    expect(file.entries.get('model.layers.1.self_attn.k_proj.bias')?.shape).toEqual([32]);
    expect(file.entries.has('lm_head.weight')).toBe(false);
    expect(file.entries.get('model.embed_tokens.weight')?.dtype).toBe('F32');
    file.close();
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      model_type: 'qwen2',
      tie_word_embeddings: true,
      use_sliding_window: false,
    });
    backbone.dispose();
  });

  test('loadHFModel brings the tokenizer, and grows the table when the tokenizer has added tokens', async () => {
    const model = await loadHFModel(QWEN, FAMILIES);
    expect(model.family.name).toBe('qwen2');
    expect(model.tokenizer.vocabSize).toBe(96);
    expect(model.tokenizer.encode('w5 w7 w95')).toEqual([5, 7, 95]);
    expect(model.backbone.vocabSize).toBe(96);
    model.backbone.dispose();
    const dir = copyOf(QWEN);
    editJson(join(dir, 'tokenizer.json'), (t) =>
      t.added_tokens.push({
        id: 96,
        content: '<bot>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }),
    );
    const grown = await loadHFModel(dir, FAMILIES);
    expect(grown.tokenizer.tokenToId('<bot>')).toBe(96);
    expect(grown.backbone.vocabSize).toBe(97);
    expect(grown.backbone.baseVocabSize).toBe(96);
    grown.backbone.dispose();
  });

  test('tensors a checkpoint may carry but the model does not use are ignored', () => {
    const dir = copyOf(QWEN);
    editWeights(dir, (t) => {
      t.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [8], data: new Float32Array(8) });
      t.set('lm_head.weight', { shape: [96, 64], data: new Float32Array(96 * 64) }); // tied: unused
    });
    const { backbone } = loadHFBackbone(dir, FAMILIES);
    expect(backbone.config.tieWordEmbeddings).toBe(true);
    backbone.dispose();
  });
});

describe('every loading error names the file and what was expected', () => {
  test('a missing tensor names the tensor and its expected shape', () => {
    const dir = copyOf(QWEN);
    editWeights(dir, (t) => t.delete('model.layers.1.mlp.up_proj.weight'));
    expect(loadError(dir).message).toMatch(/missing tensor "model\.layers\.1\.mlp\.up_proj\.weight" \[112, 64\]/);
  });

  test('an unexpected tensor is named', () => {
    const dir = copyOf(QWEN);
    editWeights(dir, (t) => t.set('model.layers.0.mlp.extra.weight', { shape: [2], data: new Float32Array(2) }));
    expect(loadError(dir).message).toMatch(/unexpected tensor "model\.layers\.0\.mlp\.extra\.weight"/);
  });

  test('a shape mismatch names the tensor and both shapes', () => {
    const dir = copyOf(QWEN);
    editJson(join(dir, 'config.json'), (c) => (c.intermediate_size = 100));
    expect(loadError(dir).message).toMatch(
      /tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[112, 64\] but the config expects \[100, 64\]/,
    );
  });

  test('NaN or Infinity in the weights is refused naming the file and the tensor (not an empty answer)', () => {
    const dir = copyOf(QWEN);
    editWeights(dir, (t) => {
      const w = t.get('model.layers.1.self_attn.q_proj.weight')!;
      w.data[3] = NaN;
      w.data[7] = Infinity;
    });
    expect(loadError(dir).message).toMatch(
      /model\.safetensors: tensor "model\.layers\.1\.self_attn\.q_proj\.weight" holds 2 non-finite values \(NaN or Infinity\) of 4096; these weights cannot be used/,
    );
  });

  test('a truncated weights file is a safetensors error, not zeros', () => {
    const dir = copyOf(QWEN);
    const path = join(dir, 'model.safetensors');
    truncateSync(path, readFileSync(path).length - 100);
    expect(loadError(dir).message).toMatch(
      /safetensors file .*model\.safetensors: tensor ".*": data_offsets \[\d+, \d+\] out of range/,
    );
  });

  test('a shard listed in the index that does not exist', () => {
    const dir = copyOf(LLAMA);
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    expect(loadError(dir).message).toMatch(/shard file model-00002-of-00002\.safetensors does not exist/);
  });

  test('an index that places a tensor in a shard without it', () => {
    const dir = copyOf(LLAMA);
    editJson(
      join(dir, 'model.safetensors.index.json'),
      (j) => (j.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors'),
    );
    expect(loadError(dir).message).toMatch(
      /tensor "model\.norm\.weight" is listed in shard model-00001-of-00002\.safetensors, which does not contain it/,
    );
  });

  test('a shard holding a tensor the index does not list', () => {
    const dir = copyOf(LLAMA);
    editJson(join(dir, 'model.safetensors.index.json'), (j) => delete j.weight_map['model.norm.weight']);
    expect(loadError(dir).message).toMatch(/tensor "model\.norm\.weight" is not listed for this shard/);
  });

  test('an index without a weight_map', () => {
    const dir = copyOf(LLAMA);
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{"metadata": {}}');
    expect(loadError(dir).message).toMatch(/"weight_map" must be an object/);
  });

  test('no weights at all', () => {
    const dir = copyOf(QWEN);
    rmSync(join(dir, 'model.safetensors'));
    expect(loadError(dir).message).toMatch(/no model\.safetensors or model\.safetensors\.index\.json/);
  });

  test('no config.json, or one that is not JSON', () => {
    const dir = copyOf(QWEN);
    writeFileSync(join(dir, 'config.json'), '{"model_type": ');
    expect(loadError(dir).message).toMatch(/config\.json:1:16: not valid JSON \(Unexpected end of JSON input\)/);
    rmSync(join(dir, 'config.json'));
    expect(loadError(dir).message).toMatch(/config\.json not found/);
  });

  test.each([
    [
      'model_type',
      'gpt2',
      /model_type "gpt2" is not provided by a loaded backbone plugin; loaded: "llama" \(llama\), "qwen2" \(qwen2\)/,
    ],
    ['hidden_size', '64', /"hidden_size" must be a positive integer, got "64"/],
    ['hidden_act', 'gelu', /"hidden_act" must be "silu"/],
    ['rope_scaling', { rope_type: 'yarn', factor: 4 }, /"rope_scaling\.rope_type" must be "llama3"/],
    [
      'rope_scaling',
      { rope_type: 'llama3', factor: 8, low_freq_factor: 1, original_max_position_embeddings: 64 },
      /"rope_scaling\.high_freq_factor" must be a positive number/,
    ],
    ['mlp_bias', true, /"mlp_bias" must be false/],
  ])('config.json with a bad %s', (field, value, message) => {
    const dir = copyOf(LLAMA);
    editJson(join(dir, 'config.json'), (c) => (c[field] = value));
    expect(loadError(dir).message).toMatch(message);
  });

  test('Qwen2 sliding-window attention is refused', () => {
    const dir = copyOf(QWEN);
    editJson(join(dir, 'config.json'), (c) => (c.use_sliding_window = true));
    expect(loadError(dir).message).toMatch(/"use_sliding_window" must be false/);
  });
});

test('loading leaves no tensors behind when it fails', () => {
  const dir = copyOf(QWEN);
  editWeights(dir, (t) => t.delete('model.norm.weight'));
  const before = tf.memory().numTensors;
  loadError(dir);
  expect(tf.memory().numTensors).toBe(before);
});
