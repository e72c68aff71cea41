// Models and datasets fetched from the Hugging Face hub (issue 41): through a hub served on
// 127.0.0.1 (test/hub-server.ts) named by HF_ENDPOINT, into the cache layout the Python client
// writes; an interrupted transfer resumed, a damaged file caught, a gated repository refused
// without a token, offline mode; datasets by hf:ORG/NAME[:split] from parquet.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  datasetFileOfId,
  fetchModelDir,
  hubSettings,
  parseDatasetSpec,
  splitFiles,
  type HubSettings,
} from '@kava/core/internal';
import { HubServer } from './hub-server.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const MODEL = join(REPO, 'test/fixtures/hf-tiny-llama');
const GSM8K = join(REPO, 'test/fixtures/hf-gsm8k');

const server = new HubServer();
const model = server.add({ type: 'model', name: 'acme/tiny-llama', folder: MODEL });
const gated = server.add({ type: 'model', name: 'acme/gated-llama', folder: MODEL, token: 'hf_secret' });
const gsm8k = server.add({ type: 'dataset', name: 'acme/gsm8k', folder: GSM8K });
let endpoint = '';
const temps: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
const settings = (extra: Partial<HubSettings> = {}): HubSettings => ({
  endpoint,
  token: null,
  tokenSource: null,
  offline: false,
  ...extra,
});

beforeAll(async () => {
  endpoint = await server.start();
});
afterAll(async () => {
  await server.stop();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const gitBlobId = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

describe('a model downloaded from the hub', () => {
  test('lands in the Python client layout: blobs by hash, relative snapshot links, refs/main; only the files a run reads', async () => {
    const cache = temp('kava-dl-');
    const dir = await fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings() });
    const root = join(cache, 'models--acme--tiny-llama');
    expect(dir).toBe(join(root, 'snapshots', model.commit));
    expect(readFileSync(join(root, 'refs', 'main'), 'utf8')).toBe(model.commit);
    const weights = readFileSync(join(MODEL, 'model-00001-of-00002.safetensors'));
    const config = readFileSync(join(MODEL, 'config.json'));
    // LFS files are named by their sha256, the others by their git blob id, as the Python client names them.
    expect(readlinkSync(join(dir, 'model-00001-of-00002.safetensors'))).toBe(`../../blobs/${sha256(weights)}`);
    expect(readlinkSync(join(dir, 'config.json'))).toBe(`../../blobs/${gitBlobId(config)}`);
    expect(readFileSync(join(dir, 'config.json'))).toEqual(config);
    // isModelFile takes config, weights and tokenizer files; reference.json is a .json too, so it comes along.
    expect(readdirSync(dir).sort()).toEqual(
      readdirSync(MODEL)
        .filter((f) => /\.(json|safetensors)$/.test(f))
        .sort(),
    );
    expect(readdirSync(join(root, 'blobs')).some((b) => b.endsWith('.incomplete'))).toBe(false);
    // The listing came in pages (Link: rel="next"), all of them read.
    expect(server.requests.filter((r) => r.path.includes('/tree/')).length).toBeGreaterThan(1);

    // Cached now: a second use makes no request at all (and so works offline).
    const before = server.requests.length;
    expect(await fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings({ offline: true }) })).toBe(
      dir,
    );
    expect(await fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings() })).toBe(dir);
    expect(server.requests.length).toBe(before);
  });

  test('an interrupted transfer is continued from where it stopped, with an HTTP range', async () => {
    const cache = temp('kava-dl-');
    const file = 'model-00001-of-00002.safetensors';
    server.cutAfter.set(file, 20_000);
    await expect(fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings() })).rejects.toThrow();
    const blobs = join(cache, 'models--acme--tiny-llama', 'blobs');
    const partial = readdirSync(blobs).find((b) => b.endsWith('.incomplete'))!;
    expect(lstatSync(join(blobs, partial)).size).toBe(20_000);
    const dir = await fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings() });
    expect(server.requests.at(-1)).toBeDefined();
    expect(server.requests.filter((r) => r.path.endsWith(file) && r.range === 'bytes=20000-')).toHaveLength(1);
    expect(readFileSync(join(dir, file))).toEqual(readFileSync(join(MODEL, file)));
  });

  test('a file that arrives damaged is refused and removed', async () => {
    const cache = temp('kava-dl-');
    server.damaged.add('model-00002-of-00002.safetensors');
    try {
      await expect(fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings() })).rejects.toThrow(
        /^acme\/tiny-llama: model-00002-of-00002\.safetensors arrived damaged \(its sha256 is [0-9a-f]{64}, the hub lists [0-9a-f]{64}\); the download was removed, run the command again$/,
      );
    } finally {
      server.damaged.clear();
    }
    const blobs = readdirSync(join(cache, 'models--acme--tiny-llama', 'blobs'));
    expect(blobs.some((b) => b.endsWith('.incomplete'))).toBe(false);
    expect(blobs).not.toContain(sha256(readFileSync(join(MODEL, 'model-00002-of-00002.safetensors'))));
  });

  test('a gated repository: refused without a token, and with the wrong one; read with HF_TOKEN or the token file', async () => {
    const cache = temp('kava-dl-');
    await expect(fetchModelDir('acme/gated-llama', { cacheDir: cache, settings: settings() })).rejects.toThrow(
      /^acme\/gated-llama: needs a Hugging Face token \(a gated or private repository\): set HF_TOKEN, or run `huggingface-cli login`, after accepting its terms at http:\/\/127\.0\.0\.1:\d+\/acme\/gated-llama \(HTTP 401 from .*: Access to model acme\/gated-llama is restricted/,
    );
    const wrong = settings({ token: 'hf_wrong', tokenSource: 'HF_TOKEN' });
    await expect(fetchModelDir('acme/gated-llama', { cacheDir: cache, settings: wrong })).rejects.toThrow(
      /^acme\/gated-llama: the token from HF_TOKEN has no access to it \(a gated repository: accept its terms at .* with that account\) \(HTTP 403/,
    );
    // The token comes from HF_TOKEN, else the file `huggingface-cli login` writes under HF_HOME.
    const home = temp('kava-hf-home-');
    writeFileSync(join(home, 'token'), `${gated.token}\n`);
    const fromFile = hubSettings({ HF_HOME: home, HF_ENDPOINT: `${endpoint}/` });
    expect(fromFile).toEqual({ endpoint, token: 'hf_secret', tokenSource: join(home, 'token'), offline: false });
    expect(hubSettings({ HF_HOME: home, HF_TOKEN: 'hf_env' }).token).toBe('hf_env');
    expect(await fetchModelDir('acme/gated-llama', { cacheDir: cache, settings: fromFile })).toMatch(/snapshots/);
  });

  test('offline and not cached: names the id and the command that fetches it; a missing repository is named', async () => {
    const cache = temp('kava-dl-');
    const before = server.requests.length;
    await expect(
      fetchModelDir('acme/tiny-llama', { field: '--model', cacheDir: cache, settings: settings({ offline: true }) }),
    ).rejects.toThrow(
      /^--model: acme\/tiny-llama is not in the Hugging Face cache \(no .*models--acme--tiny-llama\); fetch it with `kava download acme\/tiny-llama`/,
    );
    expect(server.requests.length).toBe(before);
    await expect(fetchModelDir('acme/absent', { cacheDir: cache, settings: settings() })).rejects.toThrow(
      /^acme\/absent: not found on http:\/\/127\.0\.0\.1:\d+ \(check the id and the revision "main"\) \(HTTP 404 .*: Repository not found\)$/,
    );
    const closed = new HubServer();
    const nowhere = await closed.start();
    await closed.stop();
    await expect(
      fetchModelDir('acme/tiny-llama', { cacheDir: cache, settings: settings({ endpoint: nowhere }) }),
    ).rejects.toThrow(
      `acme/tiny-llama: cannot reach ${nowhere} (ECONNREFUSED); check the network, or set HF_ENDPOINT to a mirror`,
    );
    expect(hubSettings({ HF_HUB_OFFLINE: '1' }).offline).toBe(true);
  });
});

describe('a dataset by hf:ORG/NAME[@REV][:SPLIT]', () => {
  test('specs parse; splits are found in the hub layouts, and two configs holding one split are refused', () => {
    expect(parseDatasetSpec('hf:openai/gsm8k:main/test')).toEqual({
      repo: { type: 'dataset', name: 'openai/gsm8k', revision: 'main' },
      split: 'main/test',
    });
    expect(parseDatasetSpec('hf:zen-E/GSM8k-Aug@v1')).toEqual({
      repo: { type: 'dataset', name: 'zen-E/GSM8k-Aug', revision: 'v1' },
      split: null,
    });
    for (const bad of ['openai/gsm8k', 'hf:gsm8k', 'hf:a/b:', 'hf:a/b@:test', 'hf:../x/y'])
      expect(parseDatasetSpec(bad)).toBeNull();
    const files = [
      'README.md',
      'data/train-00000-of-00002.parquet',
      'data/train-00001-of-00002.parquet',
      'data/test-00000-of-00001.parquet',
      'dataset_infos.json',
    ];
    expect(splitFiles(files, 'train', 'x/y', 'data.train')).toEqual(files.slice(1, 3));
    expect(splitFiles(['test.jsonl', 'train.jsonl'], 'test', 'x/y', 'f')).toEqual(['test.jsonl']);
    expect(splitFiles(['data/test/a.parquet', 'data/train/a.parquet'], 'test', 'x/y', 'f')).toEqual([
      'data/test/a.parquet',
    ]);
    expect(splitFiles(files, 'data/test-00000-of-00001.parquet', 'x/y', 'f')).toEqual([
      'data/test-00000-of-00001.parquet',
    ]);
    // One data file named for no split is the dataset, for a setting's default split only.
    expect(splitFiles(['README.md', 'gsmhardv2.jsonl'], 'test', 'x/y', 'f', true)).toEqual(['gsmhardv2.jsonl']);
    expect(() => splitFiles(['README.md', 'gsmhardv2.jsonl'], 'test', 'x/y', 'eval.data')).toThrow(
      'eval.data: x/y has no files for split "test"; its data files: gsmhardv2.jsonl',
    );
    const gsm = ['main/test-0.parquet', 'main/train-0.parquet', 'socratic/test-0.parquet'];
    expect(splitFiles(gsm, 'socratic/test', 'openai/gsm8k', 'f')).toEqual(['socratic/test-0.parquet']);
    expect(() => splitFiles(gsm, 'test', 'openai/gsm8k', 'data.test')).toThrow(
      'data.test: openai/gsm8k holds split "test" in 2 configs (main/, socratic/); name one, e.g. hf:openai/gsm8k:main/test',
    );
    expect(() => splitFiles(gsm, 'validation', 'openai/gsm8k', 'data.validation')).toThrow(
      'data.validation: openai/gsm8k has no files for split "validation"; its data files: main/test-0.parquet, main/train-0.parquet, socratic/test-0.parquet (name a split, config/split, or a file after the colon)',
    );
  });

  test('parquet is downloaded (only the split asked for) and read as JSON Lines, once; then offline', async () => {
    const cache = temp('kava-dl-');
    const kavaCache = temp('kava-cache-');
    const file = await datasetFileOfId('hf:acme/gsm8k:main/test', {
      field: 'data.test',
      defaultSplit: 'test',
      cacheDir: cache,
      kavaCache,
      settings: settings(),
    });
    expect(file).toBe(join(kavaCache, 'datasets', 'datasets--acme--gsm8k', gsm8k.commit, 'main--test.jsonl'));
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The first five GSM8K test questions the fixture was made from (row groups of 3 and 2).
    expect(rows[0].question).toMatch(/^Janet\u2019s ducks lay 16 eggs per day\./);
    expect(rows[0].answer).toMatch(/\n#### 18$/);
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0]).sort()).toEqual(['answer', 'question']);
    const snapshot = join(cache, 'datasets--acme--gsm8k', 'snapshots', gsm8k.commit);
    expect(readdirSync(snapshot)).toEqual(['main']);
    expect(readdirSync(join(snapshot, 'main'))).toEqual(['test-00000-of-00001.parquet']);
    // A second split of a cached dataset is fetched beside the first; offline, the cache answers.
    const train = await datasetFileOfId('hf:acme/gsm8k:main/train', {
      field: 'data.train',
      defaultSplit: 'train',
      cacheDir: cache,
      kavaCache,
      settings: settings(),
    });
    expect(readFileSync(train, 'utf8').trim().split('\n')).toHaveLength(8);
    const before = server.requests.length;
    const offline = settings({ offline: true });
    const again = { field: 'data.test', defaultSplit: 'test', cacheDir: cache, kavaCache, settings: offline };
    expect(await datasetFileOfId('hf:acme/gsm8k:main/test', again)).toBe(file);
    await expect(datasetFileOfId('hf:acme/gsm8k:socratic/test', again)).rejects.toThrow(
      'data.test: acme/gsm8k has no files for split "socratic/test"',
    );
    await expect(datasetFileOfId('hf:acme/other', again)).rejects.toThrow(
      /^data\.test: hf:acme\/other is not in the Hugging Face cache \(no .*datasets--acme--other\) and HF_HUB_OFFLINE is set; fetch it with `kava download hf:acme\/other` when online/,
    );
    expect(server.requests.length).toBe(before);
  });
});

/** Runs the built CLI with the hub at `endpoint`, asynchronously (the hub lives in this process). */
function kava(args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, HF_ENDPOINT: endpoint, HF_TOKEN: '', HF_HUB_OFFLINE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the CLI through the hub', () => {
  test('kava download stopped with Ctrl-C keeps what arrived, and the next run continues it', async () => {
    const dir = temp('kava-dl-int-');
    const env = { HF_HUB_CACHE: join(dir, 'hub') };
    const file = 'model-00001-of-00002.safetensors';
    server.slow.set(file, 4096);
    const child = spawn(process.execPath, [BIN, 'download', 'acme/tiny-llama'], {
      cwd: dir,
      env: { ...process.env, HF_ENDPOINT: endpoint, HF_TOKEN: '', HF_HUB_OFFLINE: '', ...env },
    });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    // Ctrl-C once some of the file is on disk (and more is on its way).
    const blobs = join(dir, 'hub', 'models--acme--tiny-llama', 'blobs');
    const written = () => {
      const partial = existsSync(blobs) && readdirSync(blobs).find((b) => b.endsWith('.incomplete'));
      return partial ? lstatSync(join(blobs, partial)).size : 0;
    };
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    while (written() < 8192) {
      if (child.exitCode !== null) throw new Error(`kava download ended before the Ctrl-C: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    server.slow.delete(file);
    const kept = written();
    expect(kept).toBeGreaterThanOrEqual(8192);
    expect(kept).toBeLessThan(readFileSync(join(MODEL, file)).length);
    const again = await kava(['download', 'acme/tiny-llama'], dir, env);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^acme\/tiny-llama: 8 files, [\d.]+ kB, [\d.]+ kB still to fetch\n/);
    expect(server.requests.filter((r) => r.path.endsWith(file) && r.range === `bytes=${kept}-`)).toHaveLength(1);
    expect(readFileSync(join(again.stdout.trim(), file))).toEqual(readFileSync(join(MODEL, file)));
  });

  test('kava train --model ID downloads it with progress, trains; kava eval --data hf:… evaluates; kava download; doctor lists both', async () => {
    const dir = temp('kava-dl-cli-');
    const env = { HF_HUB_CACHE: join(dir, 'hub'), KAVA_CACHE: join(dir, 'kava-cache') };
    const small = ['--set', 'train.batchSize=4', '--set', 'train.microBatchSize=4', '--set', 'eval.limit=2'];
    const args = ['train', '--backend', 'cpu', '--preset', 'llama-1b,synthetic', '--steps', '2', '--run-dir', 'run'];
    const r = await kava([...args, '--model', 'acme/tiny-llama', ...small], dir, env);
    expect(r.stderr).toMatch(/^Hugging Face hub: 8 files, [\d.]+ kB\n/);
    expect(r.stderr).toContain('fetched model-00001-of-00002.safetensors (93.5 kB)\n');
    expect(r.code).toBe(0);
    const snapshot = join(dir, 'hub', 'models--acme--tiny-llama', 'snapshots', model.commit);
    expect(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')).backbone).toMatchObject({
      model: 'acme/tiny-llama',
      modelDir: snapshot,
    });

    // A split two configs hold is refused, naming the spelling that picks one.
    const ambiguous = await kava(['eval', '--run', 'run', '--data', 'hf:acme/gsm8k', '--json'], dir, env);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(
      'kava: --data: acme/gsm8k holds split "test" in 2 configs (main/, socratic/); name one, e.g. hf:acme/gsm8k:main/test',
    );

    const ok = await kava(
      ['eval', '--run', 'run', '--data', 'hf:acme/gsm8k:main/test', '--limit', '3', '--json'],
      dir,
      env,
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ questions: 3 });

    const fetched = await kava(['download', 'hf:acme/gsm8k:socratic/test'], dir, env);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout.trim()).toBe(
      join(dir, 'kava-cache', 'datasets', 'datasets--acme--gsm8k', gsm8k.commit, 'socratic--test.jsonl'),
    );
    const again = await kava(['download', 'acme/tiny-llama'], dir, env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(snapshot);
    expect(again.stderr).toMatch(/^acme\/tiny-llama: 8 files, [\d.]+ kB, all in the cache\n$/);

    const doctor = await kava(['doctor', '--json'], dir, env);
    const section = JSON.parse(doctor.stdout).at(-1);
    expect(section.checks.map((c: { name: string }) => c.name)).toEqual(['cache', 'acme/tiny-llama', 'hf:acme/gsm8k']);
    expect(section.checks[2].detail).toMatch(
      /^dataset, 2 data files \(main\/test-00000-of-00001\.parquet, socratic\/test-00000-of-00001\.parquet\), [\d.]+ MiB$/,
    );

    const offline = await kava(['train', '--dry-run', '--model', 'acme/absent'], dir, { ...env, HF_HUB_OFFLINE: '1' });
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(
      /^kava: backbone\.model: acme\/absent is not in the Hugging Face cache .*`kava download acme\/absent`/,
    );
  });
});
