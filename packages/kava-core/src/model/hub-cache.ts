import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Models named by Hugging Face id (`org/name`, `org/name@revision`), read from the Hugging Face
 * cache that PyTorch work has already filled (`~/.cache/huggingface/hub`, or `HF_HOME/hub`,
 * `HF_HUB_CACHE`): `models--org--name/refs/<revision>` holds a commit, whose snapshot folder
 * `snapshots/<commit>/` links each file to its blob. A snapshot is a model directory as
 * `--model-dir` reads it. The cache path and folder names are @huggingface/hub's, so they match
 * what its Python twin writes.
 */

export interface ModelId {
  repo: string;
  revision: string;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** `org/name[@revision]` (revision: a branch, a tag or a commit; default `main`), or null when `spec` is not one. */
export function parseModelId(spec: string): ModelId | null {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  if (!REPO_ID.test(repo) || revision === '' || repo.includes('..')) return null;
  return { repo, revision };
}

// @huggingface/hub is loaded when a model is named by id, not at every command's start.
const hub = () => import('@huggingface/hub');

/** The Hugging Face cache folder in force (HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub). */
export const hubCachePath = async (): Promise<string> => (await hub()).getHFHubCachePath();

/** The snapshot folder of `spec` in the cache, or a ConfigError that says what is missing and how to get it. */
export async function cachedModelDir(spec: string, field = 'backbone.model', cacheDir?: string): Promise<string> {
  const id = parseModelId(spec);
  if (id === null)
    throw new ConfigError(
      `${field}: "${spec}" is not a Hugging Face model id (expected org/name or org/name@revision, e.g. meta-llama/Llama-3.2-1B-Instruct)`,
    );
  const cache = cacheDir ?? (await hubCachePath());
  const repoDir = join(cache, (await hub()).getRepoFolderName({ name: id.repo, type: 'model' }));
  const fetch = `huggingface-cli download ${id.repo}${id.revision === 'main' ? '' : ` --revision ${id.revision}`}`;
  const notCached = (what: string) =>
    new ConfigError(
      `${field}: ${spec} is not in the Hugging Face cache (${what}). kava reads the cache and does not download yet: fetch it with \`${fetch}\` (the cache is HF_HUB_CACHE, or HF_HOME/hub; here ${cache})`,
    );
  if (!existsSync(repoDir)) throw notCached(`no ${repoDir}`);
  const refFile = join(repoDir, 'refs', id.revision);
  const commit = existsSync(refFile)
    ? readFileSync(refFile, 'utf8').trim()
    : /^[0-9a-f]{40}$/.test(id.revision)
      ? id.revision
      : null;
  if (commit === null) {
    const refs = existsSync(join(repoDir, 'refs')) ? readdirSync(join(repoDir, 'refs')) : [];
    throw notCached(`revision "${id.revision}" is not cached${refs.length ? `; cached: ${refs.join(', ')}` : ''}`);
  }
  const snapshot = join(repoDir, 'snapshots', commit);
  if (!existsSync(snapshot)) throw notCached(`no snapshot ${commit} of revision ${id.revision}`);
  const files = readdirSync(snapshot);
  const missing = ['config.json', 'tokenizer.json'].filter((f) => !files.includes(f));
  if (!files.some((f) => f.endsWith('.safetensors') || f === 'model.safetensors.index.json'))
    missing.push('model.safetensors (or its shards)');
  if (missing.length) throw notCached(`snapshot ${commit} lacks ${missing.join(', ')}`);
  return snapshot;
}

/**
 * The model directory of `backbone.model`: the snapshot the cache holds for it, or `modelDir` when
 * that is already one of its snapshots (a resumed run's config.json records both, and keeps the
 * snapshot it trained from even if the revision has moved since). Another `modelDir` is a second
 * model, refused.
 */
export async function modelDirOfId(model: string, modelDir: string | null): Promise<string> {
  if (modelDir !== null) {
    const id = parseModelId(model);
    const folder = id && (await hub()).getRepoFolderName({ name: id.repo, type: 'model' });
    if (!folder || !modelDir.includes(`/${folder}/snapshots/`))
      throw new ConfigError(`backbone.model (${model}) and backbone.modelDir (${modelDir}) name two models; give one`);
    if (existsSync(modelDir)) return modelDir;
  }
  return cachedModelDir(model);
}

/** A model in the cache that a run can name by id. */
export interface CachedModel {
  /** `org/name`, with `@revision` for each cached ref but main. */
  ids: string[];
  modelType: string | null;
  /** Bytes of all its cached blobs. */
  size: number;
}

/**
 * The models in the cache that hold a config.json (datasets and other repos are left out), with
 * their refs and model_type, as huggingface_hub's scan sees them. An absent cache is an empty list.
 */
export async function listCachedModels(cacheDir?: string): Promise<CachedModel[]> {
  const { scanCacheDir } = await hub();
  const cache = cacheDir ?? (await hubCachePath());
  if (!existsSync(cache)) return [];
  const scan = await scanCacheDir(cache);
  const models: CachedModel[] = [];
  for (const repo of scan.repos) {
    if (repo.id.type !== 'model') continue;
    const withConfig = repo.revisions.filter((r) => r.files.some((f) => f.path.endsWith('/config.json')));
    if (!withConfig.length) continue;
    let modelType: string | null = null;
    try {
      modelType = JSON.parse(readFileSync(join(withConfig[0]!.path, 'config.json'), 'utf8')).model_type ?? null;
    } catch {
      // an unreadable config.json: listed with no type
    }
    const refs = withConfig.flatMap((r) => r.refs);
    const ids = (refs.length ? refs : [withConfig[0]!.commitOid]).map((ref) =>
      ref === 'main' ? repo.id.name : `${repo.id.name}@${ref}`,
    );
    models.push({ ids, modelType, size: repo.size });
  }
  return models.sort((a, b) => a.ids[0]!.localeCompare(b.ids[0]!));
}
