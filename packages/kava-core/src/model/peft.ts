import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { ConfigError, KavaError } from '../errors.js';
import { writeTextAtomic } from './atomic-write.js';
import type { Decoder } from './decoder.js';
import { checkTensors } from './hf-checkpoint.js';
import { LoraAdapters, targetLinears } from './lora.js';
import { SafetensorsFile, writeSafetensors } from './safetensors.js';
import { PROJECTIONS, linearDims, type ProjectionName } from './weights.js';

/**
 * LoRA adapters in PEFT's layout, so a PyTorch user can `PeftModel.from_pretrained(base, dir)`:
 * `adapter_config.json` and `adapter_model.safetensors` with tensors
 * `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r]. Token rows
 * added to the vocabulary are saved as PEFT `modules_to_save` (the whole embedding table, and
 * the untied head), as PEFT does for resized embeddings; loading takes their added rows.
 */
const PREFIX = 'base_model.model.';
const EMBED = `${PREFIX}model.embed_tokens.weight`;
const HEAD = `${PREFIX}lm_head.weight`;
/** safetensors metadata key: the first token row that trains (rows below are the base model's). */
const ADDED_FROM = 'kava_added_rows_from';

export interface SaveAdapterOptions {
  /** `base_model_name_or_path` recorded in adapter_config.json. */
  baseModel?: string;
}

export function saveLoraAdapter(decoder: Decoder, dir: string, options: SaveAdapterOptions = {}): void {
  const lora = decoder.adapters;
  if (lora === null) throw new KavaError('saveLoraAdapter: the decoder has no LoRA adapters (attachLora first)');
  const tensors: { name: string; shape: number[]; data: () => Float32Array }[] = [];
  const read = (make: () => tf.Tensor) => () => {
    const t = tf.tidy(make);
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  };
  for (const linear of targetLinears(decoder.weights, lora.options.targets)) {
    const ad = lora.byPath.get(linear.path)!;
    tensors.push({
      name: `${PREFIX}${linear.path}.lora_A.weight`,
      shape: [ad.a.shape[1]!, ad.a.shape[0]!],
      data: read(() => tf.transpose(ad.a)),
    });
    tensors.push({
      name: `${PREFIX}${linear.path}.lora_B.weight`,
      shape: [ad.b.shape[1]!, ad.b.shape[0]!],
      data: read(() => tf.transpose(ad.b)),
    });
  }
  const modulesToSave: string[] = [];
  if (decoder.vocabSize > decoder.baseVocabSize) {
    for (const t of decoder.checkpointTensors()) {
      if (t.name === 'model.embed_tokens.weight') tensors.push({ name: EMBED, shape: t.shape, data: t.read });
      if (t.name === 'lm_head.weight') tensors.push({ name: HEAD, shape: t.shape, data: t.read });
    }
    modulesToSave.push('embed_tokens', ...(decoder.config.tieWordEmbeddings ? [] : ['lm_head']));
  }
  // Where the trainable rows start, for our loader (PEFT ignores safetensors metadata).
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, {
    format: 'pt',
    [ADDED_FROM]: String(decoder.baseVocabSize),
  });
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: options.baseModel ?? null,
    r: lora.options.rank,
    lora_alpha: lora.options.alpha,
    lora_dropout: lora.options.dropout,
    target_modules: [...lora.options.targets],
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: modulesToSave.length ? modulesToSave : null,
    layers_to_transform: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  writeTextAtomic(join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Loads a PEFT LoRA adapter onto `decoder` (replacing any adapters), strictly. */
export function loadLoraAdapter(decoder: Decoder, dir: string): LoraAdapters {
  const configPath = join(dir, 'adapter_config.json');
  if (!existsSync(configPath)) throw new ConfigError(`adapter directory ${dir}: adapter_config.json not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${configPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const c = (raw ?? {}) as Record<string, unknown>;
  const bad = (field: string, expected: string): never => {
    throw new ConfigError(`${configPath}: "${field}" must be ${expected}, got ${JSON.stringify(c[field])}`);
  };
  if (c.peft_type !== 'LORA') bad('peft_type', '"LORA"');
  const rank = c.r;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) bad('r', 'a positive integer');
  if (typeof c.lora_alpha !== 'number' || !(c.lora_alpha > 0)) bad('lora_alpha', 'a positive number');
  const dropout = (c.lora_dropout ?? 0) as number;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1) bad('lora_dropout', 'a number in [0, 1)');
  const targets = c.target_modules;
  if (
    !Array.isArray(targets) ||
    targets.length === 0 ||
    !targets.every((t) => PROJECTIONS.includes(t as ProjectionName))
  ) {
    bad('target_modules', `a list of ${PROJECTIONS.join(', ')}`);
  }
  for (const flag of ['use_rslora', 'use_dora', 'fan_in_fan_out'] as const)
    if (c[flag] === true) bad(flag, 'false (not supported)');
  if ((c.bias ?? 'none') !== 'none') bad('bias', '"none"');
  if (c.layers_to_transform !== undefined && c.layers_to_transform !== null)
    bad('layers_to_transform', 'null (adapters on every layer)');
  for (const p of ['rank_pattern', 'alpha_pattern'] as const) {
    if (c[p] !== undefined && c[p] !== null && Object.keys(c[p] as object).length > 0)
      bad(p, 'empty (per-module ranks are not supported)');
  }
  const modules = (c.modules_to_save ?? []) as unknown;
  if (!Array.isArray(modules) || !modules.every((m) => m === 'embed_tokens' || m === 'lm_head'))
    bad('modules_to_save', 'null or a list of "embed_tokens", "lm_head"');

  const path = join(dir, 'adapter_model.safetensors');
  if (!existsSync(path)) throw new ConfigError(`adapter directory ${dir}: adapter_model.safetensors not found`);
  const file = SafetensorsFile.open(path);
  try {
    const cfg = decoder.config;
    const H = cfg.hiddenSize;
    const linears = targetLinears(decoder.weights, targets as ProjectionName[]);
    const expected = linears.flatMap((l) => {
      const [inF, outF] = linearDims(l);
      return [
        { name: `${PREFIX}${l.path}.lora_A.weight`, shape: [rank as number, inF] },
        { name: `${PREFIX}${l.path}.lora_B.weight`, shape: [outF, rank as number] },
      ];
    });
    const have = new Map([...file.entries].map(([n, e]) => [n, e.shape]));
    const savedVocab = file.entries.get(EMBED)?.shape[0];
    const moduleList = modules as string[];
    // Rows from `from` on are the trained token rows; below it, the base model's own.
    const from = file.metadata[ADDED_FROM] === undefined ? decoder.baseVocabSize : Number(file.metadata[ADDED_FROM]);
    if (moduleList.includes('embed_tokens')) {
      if (savedVocab === undefined || savedVocab < decoder.vocabSize) {
        throw new KavaError(
          `${path}: "${EMBED}" must hold at least the model's ${decoder.vocabSize} rows, got ${savedVocab === undefined ? 'nothing' : savedVocab}`,
        );
      }
      if (!Number.isInteger(from) || from < 0 || from > decoder.baseVocabSize) {
        throw new KavaError(
          `${path}: metadata ${ADDED_FROM} must be an integer in [0, ${decoder.baseVocabSize}], got ${JSON.stringify(file.metadata[ADDED_FROM])}`,
        );
      }
      expected.push({ name: EMBED, shape: [savedVocab, H] });
      if (moduleList.includes('lm_head')) expected.push({ name: HEAD, shape: [savedVocab, H] });
    }
    checkTensors(path, have, expected);
    if (moduleList.includes('embed_tokens') && moduleList.includes('lm_head') === cfg.tieWordEmbeddings) {
      throw new KavaError(
        `${path}: modules_to_save ${cfg.tieWordEmbeddings ? 'has "lm_head" but the model ties it to the embeddings' : 'lacks "lm_head" but the model has an untied head'}`,
      );
    }

    const adapters = new LoraAdapters({
      rank: rank as number,
      alpha: c.lora_alpha as number,
      dropout,
      targets: targets as ProjectionName[],
      seed: 0,
    });
    for (const l of linears) {
      const [inF, outF] = linearDims(l);
      const a = tf.tidy(() =>
        tf.transpose(tf.tensor(file.read(`${PREFIX}${l.path}.lora_A.weight`), [rank as number, inF])),
      );
      const b = tf.tidy(() =>
        tf.transpose(tf.tensor(file.read(`${PREFIX}${l.path}.lora_B.weight`), [outF, rank as number])),
      );
      adapters.byPath.set(l.path, {
        a: tf.variable(a, true),
        b: tf.variable(b, true),
        scale: (c.lora_alpha as number) / (rank as number),
      });
      a.dispose();
      b.dispose();
    }
    if (moduleList.includes('embed_tokens') && savedVocab! > from) {
      const n = savedVocab! - from;
      decoder.resizeVocab(savedVocab!, from);
      tf.tidy(() => {
        const rows = (name: string) => tf.slice(tf.tensor(file.read(name), [savedVocab!, H]), [from, 0], [n, H]);
        decoder.setAddedRows(rows(EMBED), moduleList.includes('lm_head') ? rows(HEAD) : null);
      });
    }
    decoder.setAdapters(adapters);
    return adapters;
  } finally {
    file.close();
  }
}
