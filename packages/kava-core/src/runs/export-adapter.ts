import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tf } from '../tf.js';
import { ConfigError } from '../errors.js';
import type { KavaConfig } from '../config/schema.js';
import { writeFolderAtomic, writeTextAtomic } from '../model/atomic-write.js';
import { saveLoraAdapter } from '../model/peft.js';
import { writeSafetensors } from '../model/safetensors.js';
import { ANSWER_PREFIX, BOT_TOKEN, EOT_TOKEN } from '../data/sequences.js';
import { LATENT_TOKEN, type KavaModel } from '../train/model-setup.js';
import { adapterReadme } from './adapter-readme.js';
import { latentPlan } from '../latent/plan.js';

/** File names inside an exported adapter folder, next to PEFT's own two. */
export const ADAPTER_FILES = {
  projection: 'latent_projection.safetensors',
  settings: 'kava_latent.json',
  readme: 'README.md',
} as const;

export interface ExportAdapterOptions {
  /** `base_model_name_or_path` in adapter_config.json; default the run's backbone.modelDir. */
  baseModel?: string;
  /** Replace an existing non-empty `outDir` (once the new folder is complete). */
  replace?: boolean;
}

export interface ExportedAdapter {
  dir: string;
  /** The files written, sorted. */
  files: string[];
}

/**
 * Refuses an export folder that is a file (never replaced, even when asked to replace a folder),
 * or a folder that holds something, unless `replace`: checked before the work starts, so a
 * mistyped --out fails at once and not after the model has loaded.
 */
export function checkExportDir(dir: string, replace = false): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory())
    throw new ConfigError(`export: ${dir} is a file, not a folder; an export is a folder, so choose another --out`);
  if (readdirSync(dir).length > 0 && !replace)
    throw new ConfigError(
      `export: ${dir} already exists and is not empty; choose a new folder (--out), or replace it (--force)`,
    );
}

/**
 * Writes a trained LoRA model as a folder a PyTorch user loads with PEFT
 * (`PeftModel.from_pretrained(base, dir)` after resizing the base's embeddings to the tokenizer):
 *
 * - `adapter_config.json`, `adapter_model.safetensors`: PEFT's layout and key names (saveLoraAdapter),
 *   `base_model_name_or_path` the model directory the run trained from, the added token rows as
 *   PEFT `modules_to_save`;
 * - `tokenizer.json`, `tokenizer_config.json`: the base tokenizer with `<bot>`, `<eot>`, `<latent>` added;
 * - `latent_projection.safetensors`: the projection from hidden state to next latent input, in
 *   torch.nn layout (`fc1.weight` [out, in], `fc1.bias`, `fc2.*`, `norm.*` of a LayerNorm, eps 1e-5);
 * - `kava_latent.json`: what latent inference needs besides weights: M, T, the mode, the token ids
 *   and the sequence layout;
 * - `README.md`: the files and the Python that loads them, with this export's paths.
 *
 * Written into a temporary sibling folder and renamed into place, so a crash leaves no half
 * folder; an existing non-empty `outDir` is refused, not overwritten (unless `replace`).
 */
export async function exportAdapter(
  model: KavaModel,
  config: KavaConfig,
  outDir: string,
  options: ExportAdapterOptions = {},
): Promise<ExportedAdapter> {
  const dir = resolve(outDir);
  if (model.backbone.adapters === null) {
    throw new ConfigError(
      'export: this run trained every weight (backbone.lora.enabled was false), so there is no LoRA adapter to export; export the whole model with --merged',
    );
  }
  const baseModel = options.baseModel ?? config.backbone.modelDir;
  if (baseModel === null) {
    throw new ConfigError(
      `export: this run's backbone was randomly initialised (preset ${config.backbone.preset}, no backbone.modelDir), so an adapter has no base model to load onto; export the whole model with --merged`,
    );
  }
  checkExportDir(dir, options.replace);

  // An existing `dir` is empty here, or `replace` was asked for.
  await writeFolderAtomic(dir, async (staging) => {
    saveLoraAdapter(model.backbone, staging, { baseModel });
    await model.tokenizer.save(staging);
    if (model.projection) writeProjection(model, join(staging, ADAPTER_FILES.projection));
    writeTextAtomic(
      join(staging, ADAPTER_FILES.settings),
      `${JSON.stringify(latentSettings(model, config), null, 2)}\n`,
    );
    writeTextAtomic(
      join(staging, ADAPTER_FILES.readme),
      adapterReadme(dir, resolve(baseModel), model.projection !== null),
    );
  });
  return { dir, files: readdirSync(dir).sort() };
}

/** The projection in torch.nn layout: Linear weights [out, in] (ours are [in, out]). */
function writeProjection(model: KavaModel, file: string): void {
  const tensors = [...model.projection!.variables].map(([name, v]) => {
    const short = name.slice(name.indexOf('.') + 1); // "projection.fc1.weight" -> "fc1.weight"
    const linear = v.rank === 2;
    return {
      name: short,
      shape: linear ? [v.shape[1]!, v.shape[0]!] : [...v.shape],
      data: () => tf.tidy(() => (linear ? tf.transpose(v) : v.clone()).dataSync() as Float32Array),
    };
  });
  writeSafetensors(file, tensors, { format: 'pt' });
}

/** The latent settings a PyTorch re-implementation of KaVa inference needs (kava_latent.json). */
export function latentSettings(model: KavaModel, config: KavaConfig): Record<string, unknown> {
  return {
    format: 'kava-latent/1',
    method: config.method,
    latents: config.latent.count,
    mode: config.latent.mode,
    iterations: latentPlan(config.latent).iterations,
    projection: model.projection ? ADAPTER_FILES.projection : null,
    // PEFT's modules_to_save tables have this many rows: resize the base model's embeddings to it first.
    vocabRows: model.backbone.vocabSize,
    tokens: {
      [BOT_TOKEN]: model.tokens.botId,
      [EOT_TOKEN]: model.tokens.eotId,
      [LATENT_TOKEN]: model.tokens.latentId,
      bos: model.tokenizer.bosId ?? null,
      eos: model.tokenizer.eosId ?? null,
    },
    answerPrefix: ANSWER_PREFIX,
    layout: {
      student: `question ${BOT_TOKEN} z_1..z_M ${EOT_TOKEN} "${ANSWER_PREFIX}" answer <eos>`,
      teacher: `question ${BOT_TOKEN} trace ${EOT_TOKEN} "${ANSWER_PREFIX}" answer <eos>`,
      note: 'each piece tokenized on its own and the ids concatenated; BOS first when the tokenizer has one',
    },
    latentInputs:
      config.latent.mode === 'jacobi'
        ? `z_1 = prj(h(${BOT_TOKEN})), the others start as the ${LATENT_TOKEN} embedding; T times: run all M latents on the question cache and set z_{j+1} = prj(h_j) for j < M; then run the latents with ${EOT_TOKEN} and the answer prefix, and decode greedily`
        : `z_1 = prj(h(${BOT_TOKEN})), z_{j+1} = prj(h_j), one latent per forward pass; then ${EOT_TOKEN} and the answer prefix, and decode greedily`,
    hiddenState: 'the last layer output after the final norm (HF hidden_states[-1])',
    maxNewTokens: config.eval.maxNewTokens,
  };
}
