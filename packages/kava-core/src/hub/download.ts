import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { KavaError } from '../errors.js';
import { hubSettings, type HubSettings } from './settings.js';

/**
 * Downloads a repository's files from the Hugging Face hub into the cache layout the Python
 * client writes (`<type>s--org--name/blobs/<hash>`, `snapshots/<commit>/<path>` as relative
 * links to the blobs, `refs/<revision>` holding the commit), so PyTorch finds what kava fetched
 * and kava finds what PyTorch fetched. A transfer interrupted (Ctrl-C, a dropped connection)
 * leaves `blobs/<hash>.incomplete`, which the next download continues with an HTTP range, as the
 * Python client does. Every file is checked against the hash the hub lists for it (sha256 for
 * LFS files, the git blob id for the others) before it takes its blob's name.
 *
 * Written on fetch rather than @huggingface/hub's downloadFileToCacheDir, which neither continues
 * an interrupted transfer nor checks what arrived; the three requests used (a revision's commit,
 * the file tree, a file's bytes) are the hub's documented HTTP API, the same a mirror serves.
 */

export type RepoType = 'model' | 'dataset';

export interface HubRepo {
  type: RepoType;
  /** `org/name`. */
  name: string;
  /** A branch, a tag or a commit. */
  revision: string;
}

/** One file of a repository as the hub's tree lists it. */
export interface RepoFile {
  path: string;
  size: number;
  /** The blob's name in the cache: the LFS sha256, else the git blob id. */
  blob: string;
  /** How `blob` is computed from the bytes. */
  hash: 'sha256' | 'git-sha1';
}

/** Progress callbacks of a snapshot download (the CLI draws a bar from them). */
export interface DownloadProgress {
  /** Called once the files to fetch are known (bytes: all still to transfer, resumed parts excluded). */
  start?(files: readonly RepoFile[], bytes: number): void;
  /** Called as bytes arrive. */
  bytes?(count: number, file: RepoFile): void;
  /** Called when a file is in place (downloaded, or already in the cache). */
  done?(file: RepoFile, fetched: boolean): void;
}

export interface DownloadOptions {
  /** The cache folder (HF_HUB_CACHE's). */
  cache: string;
  /** Which of the repository's files to fetch (default: all); may throw to refuse the listing. */
  select?: (files: RepoFile[]) => RepoFile[];
  settings?: HubSettings;
  progress?: DownloadProgress;
  signal?: AbortSignal;
}

export interface Snapshot {
  commit: string;
  /** `<cache>/<type>s--org--name/snapshots/<commit>`. */
  dir: string;
  files: RepoFile[];
}

/** The repository's folder in the cache: `models--org--name`, `datasets--org--name`. */
export const repoFolder = (repo: Pick<HubRepo, 'type' | 'name'>): string =>
  [`${repo.type}s`, ...repo.name.split('/')].join('--');

/** `org/name` as users write it, with `@revision` unless main; datasets prefixed as in `hf:`. */
export const repoLabel = (repo: HubRepo): string =>
  `${repo.type === 'dataset' ? 'dataset ' : ''}${repo.name}${repo.revision === 'main' ? '' : `@${repo.revision}`}`;

const apiPath = (repo: Pick<HubRepo, 'type' | 'name'>) => `api/${repo.type}s/${repo.name}`;
const filePath = (repo: Pick<HubRepo, 'type' | 'name'>) => `${repo.type === 'dataset' ? 'datasets/' : ''}${repo.name}`;
const COMMIT = /^[0-9a-f]{40}$/;

/** Fetches the files of `repo` that `select` picks (all when absent) into the cache; returns the snapshot. */
export async function downloadSnapshot(repo: HubRepo, options: DownloadOptions): Promise<Snapshot> {
  const settings = options.settings ?? hubSettings();
  const label = repoLabel(repo);
  if (settings.offline)
    throw new KavaError(`${label}: HF_HUB_OFFLINE is set, so nothing is downloaded; unset it to fetch ${repo.name}`);
  const http = hubClient(repo, settings, options.signal);
  const commit = COMMIT.test(repo.revision)
    ? repo.revision
    : String(
        ((await http.json(`${apiPath(repo)}/revision/${encodeURIComponent(repo.revision)}`)) as { sha?: unknown }).sha,
      );
  if (!COMMIT.test(commit)) throw new KavaError(`${label}: the hub did not name the commit of ${repo.revision}`);
  const listed = await http.tree(commit);
  const files = options.select ? options.select(listed) : listed;

  const root = join(options.cache, repoFolder(repo));
  const dir = join(root, 'snapshots', commit);
  const blobPath = (f: RepoFile) => join(root, 'blobs', f.blob);
  const missing = files.filter((f) => !existsSync(blobPath(f)));
  const partial = (f: RepoFile) => statSync(`${blobPath(f)}.incomplete`, { throwIfNoEntry: false })?.size ?? 0;
  options.progress?.start?.(
    files,
    missing.reduce((sum, f) => sum + Math.max(0, f.size - partial(f)), 0),
  );
  mkdirSync(join(root, 'blobs'), { recursive: true });
  for (const file of files) {
    const blob = blobPath(file);
    const fetched = !existsSync(blob);
    if (fetched) await http.download(file, commit, blob, (n) => options.progress?.bytes?.(n, file));
    link(blob, join(dir, file.path));
    options.progress?.done?.(file, fetched);
  }
  if (repo.revision !== commit) {
    const ref = join(root, 'refs', repo.revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, commit); // no newline, as the Python client writes it
  }
  return { commit, dir, files };
}

/** `snapshots/<commit>/<path>` → the blob, as a relative link (the Python client's form). */
function link(blob: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const to = relative(dirname(target), blob);
  rmSync(target, { force: true });
  symlinkSync(to, target);
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

/** The few requests a download makes, each with the token and an error that says what went wrong. */
function hubClient(repo: HubRepo, settings: HubSettings, signal?: AbortSignal) {
  const label = repoLabel(repo);
  const headers = (extra: Record<string, string> = {}) => ({
    ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}),
    ...extra,
  });
  const request = async (url: string, extra?: Record<string, string>): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(url, { headers: headers(extra), signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new KavaError(
        `${label}: cannot reach ${settings.endpoint} (${cause?.code ?? cause?.message ?? (error as Error).message}); check the network, or set HF_ENDPOINT to a mirror`,
        { cause: error },
      );
    }
    if (response.ok || response.status === 416) return response;
    const body = await response.text().catch(() => '');
    throw new KavaError(
      `${label}: ${refusal(response.status, repo, settings)} (HTTP ${response.status} from ${url}${hubMessage(body)})`,
    );
  };
  return {
    async json(path: string): Promise<unknown> {
      return (await request(`${settings.endpoint}/${path}`, { accept: 'application/json' })).json();
    },
    /** Every file at `commit` (the tree API, followed across its pages). */
    async tree(commit: string): Promise<RepoFile[]> {
      const files: RepoFile[] = [];
      let url: string | null = `${settings.endpoint}/${apiPath(repo)}/tree/${commit}?recursive=true`;
      while (url) {
        const response = await request(url, { accept: 'application/json' });
        for (const entry of (await response.json()) as TreeEntry[]) {
          if (entry.type !== 'file') continue;
          files.push(
            entry.lfs
              ? { path: entry.path, size: entry.lfs.size, blob: entry.lfs.oid, hash: 'sha256' }
              : { path: entry.path, size: entry.size, blob: entry.oid, hash: 'git-sha1' },
          );
        }
        url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
      }
      return files;
    },
    /** `file` into `blob`, through `blob.incomplete`, continuing what an earlier try left there. */
    async download(file: RepoFile, commit: string, blob: string, onBytes: (n: number) => void): Promise<void> {
      const partial = `${blob}.incomplete`;
      let have = statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
      if (have > file.size) have = 0;
      const url = `${settings.endpoint}/${filePath(repo)}/resolve/${commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      if (have < file.size || file.size === 0) {
        // identity: the bytes as stored, so a range and the hash apply to them (the Python client asks the same).
        const response = await request(url, {
          'accept-encoding': 'identity',
          ...(have > 0 ? { range: `bytes=${have}-` } : {}),
        });
        // 206 continues the partial file; 200 (a server without ranges) starts it over.
        if (response.status !== 206) have = 0;
        if (response.status !== 416) {
          const out = await open(partial, have > 0 ? 'a' : 'w');
          try {
            for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
              await out.write(chunk);
              onBytes(chunk.length);
            }
          } finally {
            await out.close();
          }
        }
      }
      const got = await hashFile(partial, file.hash);
      if (got !== file.blob) {
        rmSync(partial, { force: true });
        throw new KavaError(
          `${label}: ${file.path} arrived damaged (its ${file.hash} is ${got}, the hub lists ${file.blob}); the download was removed, run the command again`,
        );
      }
      renameSync(partial, blob);
    },
  };
}

/** What an HTTP refusal means for this repository, with what to do about it. */
function refusal(status: number, repo: HubRepo, settings: HubSettings): string {
  const page = `${settings.endpoint}/${filePath(repo)}`;
  if (status === 401)
    return settings.token
      ? `the hub does not accept the token from ${settings.tokenSource}; make a new one at https://huggingface.co/settings/tokens`
      : `needs a Hugging Face token (a gated or private repository): set HF_TOKEN, or run \`huggingface-cli login\`, after accepting its terms at ${page}`;
  if (status === 403)
    return `the token from ${settings.tokenSource ?? 'nowhere'} has no access to it (a gated repository: accept its terms at ${page} with that account)`;
  if (status === 404) return `not found on ${settings.endpoint} (check the id and the revision "${repo.revision}")`;
  if (status === 429) return 'the hub asks to slow down (too many requests); try again in a minute';
  return 'the hub refused the request';
}

/** The hub's own explanation, when its error body is JSON with one. */
function hubMessage(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return typeof error === 'string' ? `: ${error}` : '';
  } catch {
    return '';
  }
}

/** sha256 of the bytes, or git's blob id (sha1 of "blob <size>\0" and the bytes). */
async function hashFile(path: string, kind: RepoFile['hash']): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
