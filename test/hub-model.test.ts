// Models named by Hugging Face id (issue 41, first part): read from a cache tree laid out the way
// the Python client (huggingface_hub) writes it — refs/<revision> holding a commit, snapshots/
// <commit>/<file> symlinked to blobs/<sha256> — with no network, through `backbone.model` and
// `--model` on train, eval and infer, and listed by `kava doctor`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedModelDir, hubCachePath, parseModelId } from '@kava/core/internal';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const FIXTURE = join(REPO, 'test/fixtures/hf-tiny-llama');
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';

/** A cache holding `files` of FIXTURE as repo `acme/tiny-llama` at COMMIT, with refs/main and refs/v1. */
function cacheTree(files = readdirSync(FIXTURE).filter((f) => !f.startsWith('reference'))): string {
  const cache = mkdtempSync(join(tmpdir(), 'kava-hub-'));
  const repo = join(cache, 'models--acme--tiny-llama');
  const snapshot = join(repo, 'snapshots', COMMIT);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const f of files) {
    const bytes = readFileSync(join(FIXTURE, f));
    const blob = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(repo, 'blobs', blob), bytes);
    symlinkSync(join('..', '..', 'blobs', blob), join(snapshot, f)); // relative, as the Python client links
  }
  writeFileSync(join(repo, 'refs', 'main'), COMMIT); // no newline, as the Python client writes it
  writeFileSync(join(repo, 'refs', 'v1'), COMMIT);
  return cache;
}

const kava = (args: string[], cwd: string, cache: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    // Offline: this suite reads a cache and must never reach the network (test/hub-download covers that).
    env: { ...process.env, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('a model id in the Hugging Face cache', () => {
  const cache = cacheTree();
  const snapshot = join(cache, 'models--acme--tiny-llama', 'snapshots', COMMIT);
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  test('ids parse as org/name[@revision]; anything else is not an id', () => {
    expect(parseModelId('meta-llama/Llama-3.2-1B-Instruct')).toEqual({
      repo: 'meta-llama/Llama-3.2-1B-Instruct',
      revision: 'main',
    });
    expect(parseModelId('Qwen/Qwen2.5-0.5B@v1.0')).toEqual({ repo: 'Qwen/Qwen2.5-0.5B', revision: 'v1.0' });
    for (const bad of ['llama', './models/llama', '/abs/path', 'a/b/c', 'org/name@', '../x'])
      expect(parseModelId(bad)).toBeNull();
  });

  test('resolves a branch, a tag or a commit to the snapshot folder', async () => {
    expect(await cachedModelDir('acme/tiny-llama', 'backbone.model', cache)).toBe(snapshot);
    expect(await cachedModelDir('acme/tiny-llama@v1', 'backbone.model', cache)).toBe(snapshot);
    expect(await cachedModelDir(`acme/tiny-llama@${COMMIT}`, 'backbone.model', cache)).toBe(snapshot);
  });

  test('finds the cache where huggingface_hub does: HF_HUB_CACHE, else HF_HOME/hub', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.HF_HUB_CACHE;
      delete process.env.HUGGINGFACE_HUB_CACHE;
      process.env.HF_HOME = '/somewhere/hf';
      expect(await hubCachePath()).toBe('/somewhere/hf/hub');
      process.env.HF_HUB_CACHE = cache;
      expect(await cachedModelDir('acme/tiny-llama')).toBe(snapshot);
    } finally {
      process.env = saved;
    }
  });

  test('what is not cached is named, with the command that fetches it', async () => {
    await expect(cachedModelDir('acme/other', 'backbone.model', cache)).rejects.toThrow(
      /^backbone\.model: acme\/other is not in the Hugging Face cache \(no .*models--acme--other\); fetch it with `kava download acme\/other`/,
    );
    await expect(cachedModelDir('acme/tiny-llama@v2', '--model', cache)).rejects.toThrow(
      /^--model: acme\/tiny-llama@v2 is not in the Hugging Face cache \(revision "v2" is not cached; cached: main, v1\); fetch it with `kava download acme\/tiny-llama@v2`/,
    );
    const partial = cacheTree(['config.json', 'tokenizer.json']); // an interrupted download: no weights
    await expect(cachedModelDir('acme/tiny-llama', 'backbone.model', partial)).rejects.toThrow(
      /its snapshot .*a{8}0123.* lacks model\.safetensors \(or its shards\)/,
    );
    await expect(cachedModelDir('tiny-llama', 'backbone.model', cache)).rejects.toThrow(
      /backbone\.model: "tiny-llama" is not a Hugging Face model id \(expected org\/name or org\/name@revision/,
    );
    rmSync(partial, { recursive: true });
  });

  test('kava train --model ID trains from the cached snapshot and records both; infer and eval take --model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-hub-run-'));
    const small = ['--set', 'train.batchSize=4', '--set', 'train.microBatchSize=4', '--set', 'eval.limit=4'];
    const args = ['train', '--backend', 'cpu', '--preset', 'llama-1b,synthetic', '--steps', '2', '--run-dir', 'run'];
    const r = kava([...args, '--model', 'acme/tiny-llama', ...small], dir, cache);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`from ${snapshot}`);
    expect(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')).backbone).toMatchObject({
      model: 'acme/tiny-llama',
      modelDir: snapshot,
    });
    const infer = kava(
      ['infer', '--backend', 'cpu', '--model', 'acme/tiny-llama', '--mode', 'direct', 'What is 2 + 3?'],
      dir,
      cache,
    );
    expect(infer.code).toBe(0);
    const both = kava(['eval', '--model', 'acme/tiny-llama', '--run', 'run'], dir, cache);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give either a run \(--run \/ --checkpoint\) or --model, not both/);
    const doctor = kava(['doctor', '--json'], dir, cache);
    expect(doctor.code).toBe(0);
    const section = JSON.parse(doctor.stdout).at(-1);
    expect(section.title).toBe('Hugging Face cache');
    expect(section.checks).toEqual([
      { name: 'cache', status: 'info', detail: `${cache} (--model ORG/NAME and --data hf:ORG/NAME read it)` },
      {
        name: 'acme/tiny-llama',
        status: 'info',
        detail: expect.stringMatching(/^llama, [\d.]+ MiB; also acme\/tiny-llama@v1$/),
      },
    ]);
    const missing = kava(['train', '--dry-run', '--model', 'acme/absent'], dir, cache);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^kava: backbone\.model: acme\/absent is not in the Hugging Face cache/);
  });
});
