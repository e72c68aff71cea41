import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { parseModelId } from '../hub/cache.js';
import { tf } from '../tf.js';
import { ConfigError, KavaError } from '../errors.js';
import type { BackboneFamily, DecoderConfig, LoadedModel } from '../contracts/backbone.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import { writeTextAtomic } from './atomic-write.js';
import { Decoder } from './decoder.js';
import { CheckpointReader, checkTensors } from './hf-checkpoint.js';
import { writeSafetensors } from './safetensors.js';
import { parameterSpecs, type ParameterSpec } from './weights.js';
import { readJsonFile } from '../io/json-file.js';
import { loadTokenizer as loadHFTokenizer } from '../tokenizer/index.js';

/**
 * Loading and saving Hugging Face model directories: `config.json` (its `model_type` picks the
 * family), `model.safetensors` or a sharded index, bf16/f16/f32 weights upcast to float32.
 */

/**
 * What to say when `dir` holds no config.json. `org/name` that is not a folder here is most often a
 * Hugging Face model id, which `--model` reads from the cache (downloading it when missing).
 */
export function missingModelDir(dir: string, label = 'model directory'): string {
  if (!existsSync(dir)) {
    // Config paths arrive resolved against the working folder: look at what the user typed.
    const typed = isAbsolute(dir) ? relative(process.cwd(), dir) : dir;
    return parseModelId(typed) !== null
      ? `${label} ${dir}: no such folder. "${typed}" looks like a Hugging Face model id: pass it as --model ${typed} (backbone.model): kava reads it from the Hugging Face cache, downloading it first when it is not there (\`kava download ${typed}\` fetches it ahead)`
      : `${label} ${dir}: no such folder`;
  }
  return `${label} ${dir}: config.json not found (expected a Hugging Face model directory: config.json, model.safetensors, tokenizer.json)`;
}

/** Reads config.json and maps it with the family whose `modelTypes` include its `model_type`. */
export function readHFConfig(
  dir: string,
  families: readonly BackboneFamily[],
): { family: BackboneFamily; config: DecoderConfig; json: Record<string, unknown> } {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(missingModelDir(dir));
  const json = readJsonFile(path);
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ConfigError(`${path}: expected a JSON object`);
  const modelType = (json as Record<string, unknown>).model_type;
  const family = families.find((f) => typeof modelType === 'string' && f.modelTypes.includes(modelType));
  if (family === undefined) {
    const known = families.flatMap((f) => f.modelTypes.map((t) => `"${t}" (${f.name})`));
    throw new ConfigError(
      `${path}: model_type ${JSON.stringify(modelType)} is not provided by a loaded backbone plugin; ` +
        (known.length ? `loaded: ${known.join(', ')}` : 'no backbone plugin is loaded'),
    );
  }
  return {
    family,
    config: family.fromHFConfig(json as Record<string, unknown>),
    json: json as Record<string, unknown>,
  };
}

/** Tensors a checkpoint may carry that the model does not use (HF ignores them too). */
function ignorable(config: DecoderConfig): (name: string) => boolean {
  return (name) => name.endsWith('.rotary_emb.inv_freq') || (config.tieWordEmbeddings && name === 'lm_head.weight');
}

/** Loads the decoder of a model directory, strictly (see `checkTensors`). */
export function loadHFBackbone(
  dir: string,
  families: readonly BackboneFamily[],
  options: { nativeBase?: boolean } = {},
): { backbone: Decoder; family: BackboneFamily } {
  const { family, config } = readHFConfig(dir, families);
  const reader = CheckpointReader.open(dir);
  try {
    const have = new Map(reader.names().map((n) => [n, reader.shape(n)!]));
    checkTensors(`model directory ${dir}`, have, parameterSpecs(config), ignorable(config));
    const backbone = new Decoder(config, {
      layout: 'checkpoint',
      read: (spec) => tf.tensor(reader.read(spec.name), spec.shape, 'float32'),
      // The base of a large LoRA run: linear weights and the embedding table stay as read, in native memory.
      ...(options.nativeBase ? { readFrozen: (spec: ParameterSpec) => reader.read(spec.name) } : {}),
    });
    return { backbone, family };
  } finally {
    reader.close();
  }
}

/**
 * Loads a model directory with its tokenizer (`tokenizer.json` + `tokenizer_config.json`, read by
 * the tokenizer module unless `loadTokenizer` says otherwise); the embedding table grows if the tokenizer has more ids than the
 * checkpoint (added special tokens).
 */
export async function loadHFModel(
  dir: string,
  families: readonly BackboneFamily[],
  loadTokenizer: (dir: string) => Promise<Tokenizer> = loadHFTokenizer,
): Promise<LoadedModel & { backbone: Decoder; family: BackboneFamily }> {
  const { backbone, family } = loadHFBackbone(dir, families);
  try {
    const tokenizer = await loadTokenizer(dir);
    if (tokenizer.vocabSize > backbone.vocabSize) backbone.resizeVocab(tokenizer.vocabSize);
    return { backbone, tokenizer, family };
  } catch (err) {
    backbone.dispose();
    throw err;
  }
}

/**
 * Writes a model directory that Hugging Face transformers (and `loadHFBackbone`) loads:
 * config.json and model.safetensors (float32; LoRA adapters folded in; added token rows
 * included), and the tokenizer when given. Each file is written atomically.
 */
export async function saveHFModel(
  backbone: Decoder,
  dir: string,
  family: BackboneFamily,
  tokenizer?: Tokenizer,
): Promise<void> {
  if (backbone.config.family !== family.name) {
    throw new KavaError(`saveHFModel: the backbone is a "${backbone.config.family}" model, not "${family.name}"`);
  }
  const tensors = backbone.checkpointTensors().map((t) => ({ name: t.name, shape: t.shape, data: t.read }));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeTextAtomic(join(dir, 'config.json'), `${JSON.stringify(family.toHFConfig(backbone.config), null, 2)}\n`);
  if (tokenizer) await tokenizer.save(dir);
}
