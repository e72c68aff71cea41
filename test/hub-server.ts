// A Hugging Face hub on 127.0.0.1 for tests, reached through HF_ENDPOINT: it serves fixture
// folders as repositories in the hub's URL scheme — GET /api/{models,datasets}/ORG/NAME/revision/REV
// (the commit), /api/.../tree/REV?recursive=true (the file list, paged with a Link header as the
// hub pages it), and /[datasets/]ORG/NAME/resolve/REV/PATH (the bytes, with ETag, X-Repo-Commit and
// HTTP ranges) — the same requests the Python client makes. Large files are listed as LFS (sha256),
// the rest by their git blob id. Faults a test asks for: a transfer cut after N bytes, a file
// served damaged, a gated repository that wants a token.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

export interface FixtureRepo {
  type: 'model' | 'dataset';
  name: string;
  /** A folder whose files are the repository's. */
  folder: string;
  /** Only a request with `Authorization: Bearer <token>` may read it. */
  token?: string;
}

interface ServedRepo extends FixtureRepo {
  commit: string;
  files: Map<string, Buffer>;
}

const LFS = /\.(safetensors|parquet|bin)$/;
const gitBlobId = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function listFolder(folder: string, prefix = ''): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = prefix ? `${prefix}/${name}` : name;
    return statSync(join(folder, name)).isDirectory() ? listFolder(join(folder, name), path) : [path];
  });
}

export class HubServer {
  readonly repos = new Map<string, ServedRepo>();
  /** Every request: method, path and its Range header. */
  readonly requests: { method: string; path: string; range?: string }[] = [];
  /** path → bytes after which the next transfer of it is cut (once). */
  readonly cutAfter = new Map<string, number>();
  /** path → served slowly, this many bytes every 50 ms (a large file on a slow line). */
  readonly slow = new Map<string, number>();
  /** Paths served with a flipped byte. */
  readonly damaged = new Set<string>();
  /** Tree entries per page (the hub pages its listing). */
  pageSize = 3;
  private server: Server | null = null;
  endpoint = '';

  add(repo: FixtureRepo): ServedRepo {
    const files = new Map(listFolder(repo.folder).map((p) => [p, readFileSync(join(repo.folder, p))]));
    const commit = createHash('sha1').update(`${repo.type}/${repo.name}`).digest('hex');
    const served = { ...repo, commit, files };
    this.repos.set(`${repo.type}s/${repo.name}`, served);
    return served;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    this.endpoint = `http://127.0.0.1:${address.port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.endpoint);
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ method: req.method ?? 'GET', path, range: req.headers.range });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(path);
    const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const key = api ? `${api[1]}/${api[2]}` : resolve ? `${resolve[1] ? 'datasets' : 'models'}/${resolve[2]}` : '';
    const repo = this.repos.get(key);
    if (!repo) return json(404, { error: 'Repository not found' });
    if (repo.token !== undefined) {
      const auth = req.headers.authorization;
      if (!auth)
        return json(401, {
          error: `Access to ${repo.type} ${repo.name} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        });
      if (auth !== `Bearer ${repo.token}`)
        return json(403, {
          error: `Access to ${repo.type} ${repo.name} is restricted and you are not in the authorized list.`,
        });
    }
    const revision = api?.[4] ?? resolve![3]!;
    if (revision !== 'main' && revision !== repo.commit) return json(404, { error: `Invalid rev id: ${revision}` });
    if (api?.[3] === 'revision')
      return json(200, {
        id: repo.name,
        sha: repo.commit,
        private: false,
        siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
      });
    if (api?.[3] === 'tree') {
      const entries = [...repo.files].map(([p, bytes]) => ({
        type: 'file',
        path: p,
        size: bytes.length,
        oid: gitBlobId(
          LFS.test(p)
            ? Buffer.from(
                `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`,
              )
            : bytes,
        ),
        ...(LFS.test(p) ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 130 } } : {}),
      }));
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(from, from + this.pageSize);
      const next = from + this.pageSize < entries.length;
      const link = new URL(url);
      link.searchParams.set('cursor', String(from + this.pageSize));
      return json(200, page, next ? { link: `<${link.href}>; rel="next"` } : {});
    }
    const file = resolve![4]!;
    let bytes = repo.files.get(file);
    if (!bytes) return json(404, { error: `Entry not found: ${file}` });
    if (this.damaged.has(file)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const etag = LFS.test(file) ? sha256(repo.files.get(file)!) : gitBlobId(repo.files.get(file)!);
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const headers = {
      'content-type': 'application/octet-stream',
      etag: `"${etag}"`,
      'x-repo-commit': repo.commit,
      'accept-ranges': 'bytes',
    };
    if (from >= bytes.length && from > 0) {
      res.writeHead(416, headers);
      return void res.end();
    }
    const body = bytes.subarray(from);
    res.writeHead(from > 0 ? 206 : 200, {
      ...headers,
      'content-length': String(body.length),
      ...(from > 0 ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    const cut = this.cutAfter.get(file);
    if (cut !== undefined) {
      this.cutAfter.delete(file);
      // The bytes reach the client, then the connection drops (as a Ctrl-C or a lost network does).
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    const chunk = this.slow.get(file);
    if (chunk === undefined) return void res.end(body);
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(timer);
        return void res.end();
      }
      const piece = body.subarray(at, at + chunk);
      res.write(piece);
      at += piece.length;
    }, 50);
    res.on('close', () => clearInterval(timer));
  }
}
