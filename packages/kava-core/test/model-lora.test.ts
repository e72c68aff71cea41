import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  tf,
  initBackend,
  Decoder,
  saveLoraAdapter,
  loadLoraAdapter,
  saveHFModel,
  loadHFBackbone,
  SafetensorsFile,
  KavaError,
  ConfigError,
  type ProjectionName,
} from '@kava/core/internal';
import { llamaFamily } from '@kava/plugin-backbone-llama';
import { tempProject } from './helpers.js';
import { tinyConfig } from './model-helpers.js';

const LORA = {
  rank: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as ProjectionName[],
  seed: 3,
};
const IDS = [
  [5, 9, 2, 33, 17, 8],
  [1, 4, 4, 21, 30, 11],
];

beforeAll(async () => {
  await initBackend('cpu');
});

function logitsOf(model: Decoder, ids = IDS): Float32Array {
  return tf.tidy(
    () => model.forward({ inputIds: tf.tensor2d(ids, undefined, 'int32') }).logits!.dataSync() as Float32Array,
  );
}

/** Next-token cross-entropy of IDS. */
function loss(model: Decoder): tf.Scalar {
  const ids = tf.tensor2d(IDS, undefined, 'int32');
  const logits = model.forward({ inputIds: ids.slice([0, 0], [2, 5]), training: true }).logits!;
  const labels = tf.oneHot(tf.reshape(ids.slice([0, 1], [2, 5]), [-1]), model.vocabSize);
  return tf.losses.softmaxCrossEntropy(labels, tf.reshape(logits, [10, -1])) as tf.Scalar;
}

/** `steps` of plain SGD on the decoder's trainable variables; returns the losses. */
function train(model: Decoder, steps: number, lr = 0.5): number[] {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const vars = model.trainableVariables();
    const { value, grads } = tf.variableGrads(() => loss(model), vars);
    losses.push(value.dataSync()[0]!);
    tf.tidy(() => vars.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)))));
    tf.dispose([value, ...Object.values(grads)]);
  }
  return losses;
}

const snapshot = (vars: tf.Variable[]) => vars.map((v) => Buffer.from((v.dataSync() as Float32Array).slice().buffer));
const relErr = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let m = 0;
  a.forEach((x, i) => {
    d = Math.max(d, Math.abs(x - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  });
  return d / m;
};

describe('LoRA', () => {
  test('a fresh adapter leaves the model unchanged; only adapters (and no base weight) train', () => {
    const model = Decoder.random(tinyConfig(), 1);
    const before = logitsOf(model);
    const base = model.trainableVariables();
    expect(base.length).toBe(1 + 2 * (2 + 7) + 1 + 1); // embed, per layer 2 norms + 7 projections, final norm, head
    const frozen = snapshot(base);
    model.attachLora(LORA);
    expect(Buffer.from(logitsOf(model).buffer)).toEqual(Buffer.from(before.buffer)); // B = 0
    expect(model.trainableVariables().length).toBe(2 * 7 * 2);
    const losses = train(model, 5);
    expect(losses[4]!).toBeLessThan(losses[0]! - 0.05);
    expect(snapshot(base)).toEqual(frozen);
    expect(relErr(logitsOf(model), before)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  test('merged and unmerged forward agree', () => {
    const model = Decoder.random(tinyConfig(), 2);
    model.attachLora(LORA);
    train(model, 3);
    const unmerged = logitsOf(model);
    model.mergeLora();
    expect(model.adapters).toBeNull();
    expect(relErr(logitsOf(model), unmerged)).toBeLessThan(1e-5);
    model.dispose();
  });

  test('adapters target only the chosen projections, and dropout acts only while training', () => {
    const model = Decoder.random(tinyConfig(), 3);
    model.attachLora({ ...LORA, targets: ['q_proj', 'v_proj'], dropout: 0.5 });
    expect([...model.adapters!.byPath.keys()]).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    train(model, 1); // B != 0 so dropout on the adapter input shows in the output
    expect(Buffer.from(logitsOf(model).buffer)).toEqual(Buffer.from(logitsOf(model).buffer));
    const inTraining = tf.tidy(
      () =>
        model
          .forward({ inputIds: tf.tensor2d(IDS, undefined, 'int32'), training: true })
          .logits!.dataSync() as Float32Array,
    );
    expect(relErr(inTraining, logitsOf(model))).toBeGreaterThan(1e-4);
    const seeded = (seed: number) =>
      tf.tidy(
        () =>
          model
            .forward({ inputIds: tf.tensor2d(IDS, undefined, 'int32'), training: true, seed })
            .logits!.dataSync() as Float32Array,
      );
    expect(Buffer.from(seeded(7).buffer)).toEqual(Buffer.from(seeded(7).buffer));
    expect(relErr(seeded(7), seeded(8))).toBeGreaterThan(1e-4);
    model.dispose();
  });

  test('bad options are configuration errors naming the field', () => {
    const model = Decoder.random(tinyConfig(), 0);
    expect(() => model.attachLora({ ...LORA, rank: 0 })).toThrow(/backbone\.lora\.rank: expected a positive integer/);
    expect(() => model.attachLora({ ...LORA, targets: ['qkv' as ProjectionName] })).toThrow(
      /backbone\.lora\.targets: unknown projection "qkv"/,
    );
    model.dispose();
  });
});

describe('PEFT adapter files', () => {
  test('PEFT names and layout; the saved adapter reloads bit-identically, added token rows included', () => {
    const model = Decoder.random(tinyConfig(), 4);
    model.attachLora(LORA);
    model.resizeVocab(43); // <bot>, <eot>, <latent>
    train(model, 2);
    const dir = tempProject();
    saveLoraAdapter(model, dir, { baseModel: 'tiny' });
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      target_modules: LORA.targets,
      modules_to_save: ['embed_tokens', 'lm_head'],
    });
    const file = SafetensorsFile.open(join(dir, 'adapter_model.safetensors'));
    expect(file.entries.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([4, 32]);
    expect(file.entries.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')?.shape).toEqual([16, 4]);
    expect(file.entries.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')?.shape).toEqual([4, 48]);
    expect(file.entries.get('base_model.model.model.embed_tokens.weight')?.shape).toEqual([43, 32]);
    expect(file.entries.get('base_model.model.lm_head.weight')?.shape).toEqual([43, 32]);
    expect(file.entries.size).toBe(2 * 7 * 2 + 2);
    file.close();

    // A fresh copy of the same base model (same seed) with the adapter loaded.
    const fresh = Decoder.random(tinyConfig(), 4);
    loadLoraAdapter(fresh, dir);
    expect(fresh.vocabSize).toBe(43);
    expect(snapshot(fresh.trainableVariables())).toEqual(snapshot(model.trainableVariables()));
    const ids = [[40, 41, 3, 42]];
    expect(Buffer.from(logitsOf(fresh, ids).buffer)).toEqual(Buffer.from(logitsOf(model, ids).buffer));
    model.dispose();
    fresh.dispose();
  });

  test('an adapter without added rows reloads bit-identically (untied head)', () => {
    const model = Decoder.random(tinyConfig(), 9);
    model.attachLora({ ...LORA, targets: ['v_proj', 'up_proj'] });
    train(model, 2);
    const dir = tempProject();
    saveLoraAdapter(model, dir);
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).modules_to_save).toBeNull();
    const fresh = Decoder.random(tinyConfig(), 9);
    loadLoraAdapter(fresh, dir);
    expect(fresh.vocabSize).toBe(40);
    expect(snapshot(fresh.trainableVariables())).toEqual(snapshot(model.trainableVariables()));
    expect(Buffer.from(logitsOf(fresh).buffer)).toEqual(Buffer.from(logitsOf(model).buffer));
    model.dispose();
    fresh.dispose();
  });

  test('special tokens that land in a padded table (Qwen2.5) train, save and reload', () => {
    // A 40-row tied table whose tokenizer uses 36 ids: <bot>, <eot> become ids 36 and 37.
    const model = Decoder.random(tinyConfig({ tieWordEmbeddings: true }), 10);
    const table = snapshot([model.weights.embed as tf.Variable])[0]!;
    const before = logitsOf(model);
    model.attachLora(LORA);
    model.resizeVocab(40, 36);
    expect([model.vocabSize, model.baseVocabSize]).toEqual([40, 36]);
    expect(model.addedRows.embed!.shape).toEqual([4, 32]);
    const baseTable = snapshot([model.weights.embed as tf.Variable]);
    const rows = snapshot([model.addedRows.embed!]);
    // The rows are kept as they were, split at id 36; the logits agree to rounding only, since
    // a 36-column and a 4-column head product may sum in another order than one 40-column product
    // (OpenBLAS's Haswell kernels do).
    expect(Buffer.concat([baseTable[0]!, rows[0]!])).toEqual(table);
    expect(relErr(logitsOf(model), before)).toBeLessThan(1e-6);
    const ids = [[36, 5, 37, 9, 2, 36]];
    for (let i = 0; i < 2; i++) {
      const vars = model.trainableVariables();
      const { value, grads } = tf.variableGrads(
        () =>
          tf.sum(
            model.forward({ inputIds: tf.tensor2d(ids, undefined, 'int32') }).logits!.slice([0, 0, 36], [1, 6, 1]),
          ) as tf.Scalar,
        vars,
      );
      tf.tidy(() => vars.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.1)))));
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(snapshot([model.weights.embed as tf.Variable])).toEqual(baseTable);
    expect(snapshot([model.addedRows.embed!])).not.toEqual(rows);
    const dir = tempProject();
    saveLoraAdapter(model, dir);
    const fresh = Decoder.random(tinyConfig({ tieWordEmbeddings: true }), 10);
    loadLoraAdapter(fresh, dir);
    expect([fresh.vocabSize, fresh.baseVocabSize]).toEqual([40, 36]);
    expect(snapshot(fresh.trainableVariables())).toEqual(snapshot(model.trainableVariables()));
    expect(Buffer.from(logitsOf(fresh, ids).buffer)).toEqual(Buffer.from(logitsOf(model, ids).buffer));
    model.dispose();
    fresh.dispose();
  });

  test('saving full weights folds the adapters in and appends the added rows', async () => {
    const model = Decoder.random(tinyConfig(), 5);
    model.attachLora(LORA);
    model.resizeVocab(42);
    train(model, 2);
    const dir = tempProject();
    await saveHFModel(model, dir, llamaFamily);
    const loaded = loadHFBackbone(dir, [llamaFamily]).backbone;
    expect(loaded.config.vocabSize).toBe(42);
    const ids = [[41, 3, 40, 7]];
    expect(relErr(logitsOf(loaded, ids), logitsOf(model, ids))).toBeLessThan(1e-5);
    model.dispose();
    loaded.dispose();
  });

  function savedAdapter(): string {
    const model = Decoder.random(tinyConfig(), 6);
    model.attachLora(LORA);
    const dir = tempProject();
    saveLoraAdapter(model, dir);
    model.dispose();
    return dir;
  }

  test.each([
    ['peft_type', 'PREFIX_TUNING', /"peft_type" must be "LORA"/],
    ['r', 0, /"r" must be a positive integer/],
    ['target_modules', ['c_attn'], /"target_modules" must be a list of q_proj/],
    ['use_dora', true, /"use_dora" must be false \(not supported\)/],
    ['rank_pattern', { q_proj: 8 }, /"rank_pattern" must be empty/],
  ])('adapter_config.json with a bad %s is refused', (field, value, message) => {
    const dir = savedAdapter();
    const path = join(dir, 'adapter_config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), [field]: value }));
    const model = Decoder.random(tinyConfig(), 6);
    expect(() => loadLoraAdapter(model, dir)).toThrow(ConfigError);
    expect(() => loadLoraAdapter(model, dir)).toThrow(message);
    model.dispose();
  });

  test('a missing or unreadable adapter file is a clear error', () => {
    const dir = savedAdapter();
    const model = Decoder.random(tinyConfig(), 6);
    writeFileSync(join(dir, 'adapter_config.json'), '{"peft_type": ');
    expect(() => loadLoraAdapter(model, dir)).toThrow(/adapter_config\.json: not valid JSON/);
    expect(() => loadLoraAdapter(model, tempProject())).toThrow(/adapter_config\.json not found/);
    const noWeights = savedAdapter();
    rmSync(join(noWeights, 'adapter_model.safetensors'));
    expect(() => loadLoraAdapter(model, noWeights)).toThrow(/adapter_model\.safetensors not found/);
    model.dispose();
  });

  test('an adapter whose rank or tensors do not match is refused, naming the tensor', () => {
    const dir = savedAdapter();
    const path = join(dir, 'adapter_config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), r: 8 }));
    const model = Decoder.random(tinyConfig(), 6);
    expect(() => loadLoraAdapter(model, dir)).toThrow(
      /tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight" has shape \[4, 32\] but the config expects \[8, 32\]/,
    );
    writeFileSync(
      path,
      JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), r: 4, target_modules: ['q_proj'] }),
    );
    expect(() => loadLoraAdapter(model, dir)).toThrow(KavaError);
    expect(() => loadLoraAdapter(model, dir)).toThrow(
      /unexpected tensors "base_model\.model\.model\.layers\.0\.mlp\.down_proj\.lora_A\.weight".* and 19 more/,
    );
    expect(existsSync(join(dir, 'adapter_model.safetensors'))).toBe(true);
    model.dispose();
  });
});
