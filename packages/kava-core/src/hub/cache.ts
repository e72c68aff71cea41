import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { downloadSnapshot, repoFolder, type DownloadProgress, type HubRepo } from './download.js';
import { hubSettings, type HubSettings } from './settings.js';

/**
 * Models named by Hugging Face id (`org/name`, `org/name@revision`), read from the Hugging Face
 * cache that PyTorch work has already filled (`~/.cache/huggingface/hub`, or `HF_HOME/hub`,
 * `HF_HUB_CACHE`): `models--org--name/refs/<revision>` holds a commit, whose snapshot folder
 * `snapshots/<commit>/` links each file to its blob. A snapshot is a model directory as
 * `--model-dir` reads it. The cache path and folder names are @huggingface/hub's, so they match
 * what its Python twin writes. A model the cache lacks is downloaded into it (download.ts) unless
 * HF_HUB_OFFLINE is set.
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
export const hub = (): Promise<typeof import('@huggingface/hub')> => import('@huggingface/hub');

/** The Hugging Face cache folder in force (HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub). */
export const hubCachePath = async (): Promise<string> => (await hub()).getHFHubCachePath();

/** The files a model directory needs: config, weights (one file or shards with their index), tokenizer. */
export const isModelFile = (path: string): boolean =>
  !path.includes('/') && /\.(json|safetensors|jinja|txt|model)$/.test(path);

/** The command that fetches `repo` into the cache. */
export const downloadCommand = (repo: HubRepo): string =>
  `kava download ${repo.type === 'dataset' ? 'hf:' : ''}${repo.name}${repo.revision === 'main' ? '' : `@${repo.revision}`}`;

/**
 * The snapshot folder the cache holds for `repo`'s revision (through refs/<revision>, or the
 * commit itself), or why there is none.
 */
export function cachedSnapshot(cache: string, repo: HubRepo): { dir: string } | { missing: string } {
  const root = join(cache, repoFolder(repo));
  if (!existsSync(root)) return { missing: `no ${root}` };
  const refFile = join(root, 'refs', repo.revision);
  const commit = existsSync(refFile)
    ? readFileSync(refFile, 'utf8').trim()
    : /^[0-9a-f]{40}$/.test(repo.revision)
      ? repo.revision
      : null;
  if (commit === null) {
    const refs = existsSync(join(root, 'refs')) ? readdirSync(join(root, 'refs')) : [];
    return { missing: `revision "${repo.revision}" is not cached${refs.length ? `; cached: ${refs.join(', ')}` : ''}` };
  }
  const dir = join(root, 'snapshots', commit);
  return existsSync(dir) ? { dir } : { missing: `no snapshot ${commit} of revision ${repo.revision}` };
}

/** What a model snapshot lacks to be loaded (empty when complete). */
function modelFilesMissing(dir: string): string[] {
  const files = readdirSync(dir);
  const missing = ['config.json', 'tokenizer.json'].filter((f) => !files.includes(f) || !existsSync(join(dir, f)));
  if (!files.some((f) => f.endsWith('.safetensors') || f === 'model.safetensors.index.json'))
    missing.push('model.safetensors (or its shards)');
  return missing;
}

function modelRepo(spec: string, field: string): HubRepo {
  const id = parseModelId(spec);
  if (id === null)
    throw new ConfigError(
      `${field}: "${spec}" is not a Hugging Face model id (expected org/name or org/name@revision, e.g. meta-llama/Llama-3.2-1B-Instruct)`,
    );
  return { type: 'model', name: id.repo, revision: id.revision };
}

/** The snapshot folder of `spec` in the cache, or a ConfigError that says what is missing and how to get it. */
export async function cachedModelDir(spec: string, field = 'backbone.model', cacheDir?: string): Promise<string> {
  const repo = modelRepo(spec, field);
  const cache = cacheDir ?? (await hubCachePath());
  const found = cachedSnapshot(cache, repo);
  const missing = 'dir' in found ? modelFilesMissing(found.dir) : [];
  if ('dir' in found && missing.length === 0) return found.dir;
  const what = 'dir' in found ? `its snapshot ${found.dir} lacks ${missing.join(', ')}` : found.missing;
  throw new ConfigError(
    `${field}: ${spec} is not in the Hugging Face cache (${what}); fetch it with \`${downloadCommand(repo)}\` (the cache is HF_HUB_CACHE, or HF_HOME/hub; here ${cache})`,
  );
}

/** How a model named by id is found: in the cache, else (online) downloaded into it. */
export interface ModelFetchOptions {
  field?: string;
  cacheDir?: string;
  settings?: HubSettings;
  progress?: DownloadProgress;
  /** Ask the hub for the revision's commit even when the cache holds one (`kava download`). */
  refresh?: boolean;
}

/**
 * The snapshot folder of model `spec`: the cache's when it holds the model whole (no network is
 * touched, so a cached model runs offline), else downloaded into the cache first, unless
 * HF_HUB_OFFLINE is set. Downloads only the files a run reads (isModelFile).
 */
export async function fetchModelDir(spec: string, options: ModelFetchOptions = {}): Promise<string> {
  const field = options.field ?? 'backbone.model';
  const settings = options.settings ?? hubSettings();
  if (!options.refresh || settings.offline)
    try {
      return await cachedModelDir(spec, field, options.cacheDir);
    } catch (error) {
      if (settings.offline || !(error instanceof ConfigError)) throw error;
    }
  const repo = modelRepo(spec, field);
  const cache = options.cacheDir ?? (await hubCachePath());
  const snapshot = await downloadSnapshot(repo, {
    cache,
    select: (files) => files.filter((f) => isModelFile(f.path)),
    settings,
    progress: options.progress,
  });
  const missing = modelFilesMissing(snapshot.dir);
  if (missing.length)
    throw new ConfigError(
      `${field}: ${spec} has no ${missing.join(', ')} at ${snapshot.commit} (it is not a safetensors model kava can load)`,
    );
  return snapshot.dir;
}

/**
 * The model directory of `backbone.model`: the snapshot the cache holds for it (fetched when
 * missing), or `modelDir` when that is already one of its snapshots (a resumed run's config.json
 * records both, and keeps the snapshot it trained from even if the revision has moved since).
 * Another `modelDir` is a second model, refused.
 */
export async function modelDirOfId(
  model: string,
  modelDir: string | null,
  options: ModelFetchOptions = {},
): Promise<string> {
  if (modelDir !== null) {
    const id = parseModelId(model);
    const folder = id && repoFolder({ type: 'model', name: id.repo });
    if (!folder || !modelDir.includes(`/${folder}/snapshots/`))
      throw new ConfigError(`backbone.model (${model}) and backbone.modelDir (${modelDir}) name two models; give one`);
    if (existsSync(modelDir)) return modelDir;
  }
  return fetchModelDir(model, options);
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
