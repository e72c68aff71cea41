import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, KavaError } from '../errors.js';
import { cachedSnapshot, downloadCommand, hub, hubCachePath } from './cache.js';
import { downloadSnapshot, repoFolder, type DownloadProgress, type HubRepo, type RepoFile } from './download.js';
import { cacheHome, hubSettings, type HubSettings } from './settings.js';

/**
 * Datasets named by Hugging Face id: `hf:ORG/NAME[@REVISION][:SPLIT]`, where SPLIT is a split
 * (`test`), a config and a split (`main/test`, for repositories such as openai/gsm8k that hold
 * several), or one file's path in the repository. The split's files are found the way the hub
 * lays them out (`data/test-00000-of-00001.parquet`, `main/test-….parquet`, `test.jsonl`,
 * `data/test/….parquet`), read from the cache (`datasets--org--name`) or downloaded into it.
 * A single JSON or JSON Lines file is read where it lies; parquet (and several files) become
 * one JSON Lines file in kava's cache, so every dataset format reads them as it reads a file.
 */

export const HF_PREFIX = 'hf:';

export interface DatasetSpec {
  repo: HubRepo;
  /** As written after the colon, or null for the setting's default split. */
  split: string | null;
}

const REPO = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Whether a data setting names a hub dataset rather than a file. */
export const isHubDataset = (value: string): boolean => value.startsWith(HF_PREFIX);

/** `hf:ORG/NAME[@REVISION][:SPLIT]`, or null when `spec` is not one. */
export function parseDatasetSpec(spec: string): DatasetSpec | null {
  if (!isHubDataset(spec)) return null;
  const body = spec.slice(HF_PREFIX.length);
  const colon = body.indexOf(':');
  const id = colon < 0 ? body : body.slice(0, colon);
  const split = colon < 0 ? null : body.slice(colon + 1);
  const at = id.indexOf('@');
  const name = at < 0 ? id : id.slice(0, at);
  const revision = at < 0 ? 'main' : id.slice(at + 1);
  if (!REPO.test(name) || name.includes('..') || revision === '' || split === '' || split?.includes('..')) return null;
  return { repo: { type: 'dataset', name, revision }, split };
}

/** A file named for a split, as the hub's layouts name them (train-00000-of-00001.parquet, test.jsonl). */
const SPLIT_NAMED = /^(train|test|validation|valid|dev|eval)([-._]|$)/;

/** Files that hold records (not the card, attributes or the datasets library's metadata). */
const isDataFile = (path: string) =>
  /\.(parquet|jsonl|json)$/.test(path) &&
  !basename(path).startsWith('.') &&
  !/^(dataset_infos?|dataset_dict|state|config)\.json$/.test(basename(path));

/**
 * The files of `split` among `paths`: the file itself when `split` is one, else every data file
 * whose name starts with the split (`test-0000…`, `test.jsonl`) or that lies in a folder named
 * for it, under the config folder when one is given. Files from two folders (two configs) are
 * ambiguous and refused, naming the spellings that choose one.
 */
export function splitFiles(
  paths: readonly string[],
  split: string,
  label: string,
  field: string,
  defaulted = false,
): string[] {
  if (paths.includes(split)) return [split];
  const data = paths.filter(isDataFile);
  const slash = split.lastIndexOf('/');
  const config = slash < 0 ? null : split.slice(0, slash);
  const name = slash < 0 ? split : split.slice(slash + 1);
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = new RegExp(`^${escaped}([-._]|$)`);
  /** The config folder of a file: its folder, less a last folder named for the split. */
  const configOf = (p: string) => {
    const folders = dirname(p) === '.' ? [] : dirname(p).split('/');
    return (folders.at(-1) === name ? folders.slice(0, -1) : folders).join('/');
  };
  const matches = data
    .filter((p) => {
      const folder = configOf(p);
      const inConfig = config === null || folder === config || folder.endsWith(`/${config}`);
      // A folder named for the split counts when its files are not named for another split
      // (in main/test-0.parquet, main is a config, not a split).
      const inSplitFolder = basename(dirname(p)) === name && !SPLIT_NAMED.test(basename(p));
      return inConfig && (named.test(basename(p)) || inSplitFolder);
    })
    .sort();
  const folders = [...new Set(matches.map(configOf))];
  if (folders.length > 1)
    throw new ConfigError(
      `${field}: ${label} holds split "${name}" in ${folders.length} configs (${folders.map((f) => `${f || '.'}/`).join(', ')}); name one, e.g. ${HF_PREFIX}${label.replace(/^dataset /, '')}:${folders[0]}/${name}`,
    );
  // A repository of one data file named for no split (gsmhardv2.jsonl) is that file, whichever
  // split a setting reads by default; a split the user named must exist.
  if (matches.length === 0 && defaulted && data.length === 1 && !SPLIT_NAMED.test(basename(data[0]!))) return data;
  if (matches.length === 0) {
    const shown = data.slice(0, 12).join(', ');
    throw new ConfigError(
      `${field}: ${label} has no files for split "${split}"${data.length ? `; its data files: ${shown}${data.length > 12 ? ', …' : ''} (name a split, config/split, or a file after the colon)` : ' (it holds no parquet, JSON or JSON Lines files)'}`,
    );
  }
  return matches;
}

/** kava's own cache (KAVA_CACHE, else XDG_CACHE_HOME/kava, else ~/.cache/kava): what kava derives, never the hub's files. */
export const kavaCachePath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.KAVA_CACHE ?? join(cacheHome(env), 'kava');

export interface DatasetFetchOptions {
  /** The setting that named it (for messages), e.g. data.test or --data. */
  field: string;
  /** The split a spec without one means (train for data.train, test for data.test, ...). */
  defaultSplit: string;
  cacheDir?: string;
  kavaCache?: string;
  settings?: HubSettings;
  progress?: DownloadProgress;
  /** Ask the hub for the revision's commit even when the cache holds one (`kava download`). */
  refresh?: boolean;
}

/** Every file under `dir` (following the snapshot's links), as repository paths. */
function snapshotPaths(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return statSync(join(dir, entry.name)).isDirectory() ? snapshotPaths(join(dir, entry.name), path) : [path];
  });
}

/**
 * The local file that holds dataset `spec`'s split: found in the Hugging Face cache, or (online)
 * downloaded into it first; parquet converted once into kava's cache as JSON Lines.
 */
export async function datasetFileOfId(spec: string, options: DatasetFetchOptions): Promise<string> {
  const parsed = parseDatasetSpec(spec);
  if (parsed === null)
    throw new ConfigError(
      `${options.field}: "${spec}" is not a Hugging Face dataset id (expected hf:org/name[@revision][:split], e.g. hf:openai/gsm8k:main/test)`,
    );
  const { repo } = parsed;
  const split = parsed.split ?? options.defaultSplit;
  const label = `${repo.name}${repo.revision === 'main' ? '' : `@${repo.revision}`}`;
  const settings = options.settings ?? hubSettings();
  const cache = options.cacheDir ?? (await hubCachePath());

  let dir: string | null = null;
  let files: string[] = [];
  const cached = cachedSnapshot(cache, repo);
  if ('dir' in cached && (!options.refresh || settings.offline)) {
    try {
      files = splitFiles(snapshotPaths(cached.dir), split, label, options.field, parsed.split === null);
      dir = cached.dir;
    } catch (error) {
      // A split the cached snapshot lacks is fetched when online (the cache may hold another split only).
      if (settings.offline) throw error;
    }
  } else if (settings.offline && !('dir' in cached)) {
    throw new ConfigError(
      `${options.field}: ${spec} is not in the Hugging Face cache (${cached.missing}) and HF_HUB_OFFLINE is set; fetch it with \`${downloadCommand(repo)}\` when online (the cache is ${cache})`,
    );
  }
  if (dir === null) {
    const snapshot = await downloadSnapshot(repo, {
      cache,
      settings,
      progress: options.progress,
      select: (listed: RepoFile[]) => {
        const chosen = new Set(
          splitFiles(
            listed.map((f) => f.path),
            split,
            label,
            options.field,
            parsed.split === null,
          ),
        );
        return listed.filter((f) => chosen.has(f.path));
      },
    });
    dir = snapshot.dir;
    files = snapshot.files.map((f) => f.path);
  }
  if (files.length === 1 && /\.jsonl?$/.test(files[0]!)) return join(dir, files[0]!);
  const out = join(
    options.kavaCache ?? kavaCachePath(),
    'datasets',
    repoFolder(repo),
    basename(dir),
    `${split.replace(/[/\\]/g, '--')}.jsonl`,
  );
  if (!existsSync(out))
    await writeJsonLines(
      files.map((f) => join(dir, f)),
      out,
      spec,
    );
  return out;
}

/**
 * The records of `files` (parquet row groups read a slice at a time, JSON Lines copied, a JSON
 * array spread) as one JSON Lines file, written whole or not at all.
 */
async function writeJsonLines(files: readonly string[], out: string, spec: string): Promise<void> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, toJson } = await import('hyparquet');
  mkdirSync(dirname(out), { recursive: true });
  const temp = `${out}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    for (const file of files) {
      if (file.endsWith('.parquet')) {
        const buffer = await asyncBufferFromFile(file);
        let rows: number;
        let metadata;
        try {
          metadata = await parquetMetadataAsync(buffer);
          rows = Number(metadata.num_rows);
        } catch (error) {
          throw new KavaError(`${spec}: ${file} is not a parquet file kava can read (${(error as Error).message})`, {
            cause: error,
          });
        }
        const SLICE = 10_000; // rows held at once: a large split is never all in memory
        for (let start = 0; start < rows; start += SLICE) {
          let objects: Record<string, unknown>[];
          try {
            objects = await parquetReadObjects({
              file: buffer,
              metadata,
              rowStart: start,
              rowEnd: Math.min(rows, start + SLICE),
            });
          } catch (error) {
            throw new KavaError(`${spec}: cannot read ${file} (${(error as Error).message})`, { cause: error });
          }
          await handle.write(objects.map((row) => `${JSON.stringify(toJson(row))}\n`).join(''));
        }
      } else {
        const text = readFileSync(file, 'utf8');
        const records =
          file.endsWith('.json') && text.trimStart().startsWith('[') ? (JSON.parse(text) as unknown[]) : null;
        await handle.write(
          records ? records.map((r) => `${JSON.stringify(r)}\n`).join('') : text.endsWith('\n') ? text : `${text}\n`,
        );
      }
    }
    await handle.close();
    renameSync(temp, out);
  } catch (error) {
    await handle.close().catch(() => {});
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A dataset in the cache that `hf:ORG/NAME` can name. */
export interface CachedDataset {
  /** `hf:org/name`, with `@revision` for each cached ref but main. */
  ids: string[];
  /** Its cached files that hold records (parquet, JSON, JSON Lines), as repository paths. */
  dataFiles: string[];
  size: number;
}

/** The datasets in the cache that hold data files, as huggingface_hub's scan sees them. */
export async function listCachedDatasets(cacheDir?: string): Promise<CachedDataset[]> {
  const { scanCacheDir } = await hub();
  const cache = cacheDir ?? (await hubCachePath());
  if (!existsSync(cache)) return [];
  const datasets: CachedDataset[] = [];
  for (const repo of (await scanCacheDir(cache)).repos) {
    if (repo.id.type !== 'dataset') continue;
    const dataFiles = [
      ...new Set(
        // The scan lists a snapshot's top-level files only; a dataset's lie in folders (main/, data/).
        repo.revisions.flatMap((r) => snapshotPaths(r.path).filter(isDataFile)),
      ),
    ].sort();
    if (!dataFiles.length) continue;
    const refs = repo.revisions.flatMap((r) => r.refs);
    const ids = (refs.length ? refs : [repo.revisions[0]!.commitOid]).map((ref) =>
      ref === 'main' ? `hf:${repo.id.name}` : `hf:${repo.id.name}@${ref}`,
    );
    datasets.push({ ids, dataFiles, size: repo.size });
  }
  return datasets.sort((a, b) => a.ids[0]!.localeCompare(b.ids[0]!));
}
