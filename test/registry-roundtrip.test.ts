// The way a user gets KaVa: from a registry. A real verdaccio on 127.0.0.1 (temporary storage,
// no uplink, so nothing can come from anywhere but what this test publishes) receives every
// @kava/* package as `npm publish` sends it, and a third-party scorer package; then a fresh
// project outside the repository runs `npm install @kava/cli <the scorer>`, approves and builds
// the native addon the way the docs say, and runs `npx kava plugins` and a 3-step `npx kava
// train` whose config names the third-party scorer.
//
// Only the @kava and @acme scopes are routed to the local registry (the project's .npmrc); the
// third-party dependencies (tfjs, zod, ...) come through the user's normal registry and npm's
// cache (--prefer-offline: after `npm ci` they are all cached). That is why the example scorer
// (test/fixtures/kava-plugin-example) is published under a scope, @acme/kava-plugin-example:
// an unscoped name cannot be routed to one registry without sending everything there.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, userEnv } from './npm-project.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERDACCIO = join(REPO, 'node_modules/verdaccio/bin/verdaccio');
const SCORER = '@acme/kava-plugin-example';
/** Whether this machine builds the native addon (the repository's own install built it). */
const NATIVE_HERE =
  existsSync(join(REPO, 'packages/kava-core/native/build/Release/kava_native.node')) &&
  process.env.KAVA_NATIVE !== 'off';
const DIST_BUILT = ['kava-core', 'cli', 'plugin-rkv'].every((p) =>
  existsSync(join(REPO, 'packages', p, 'dist/index.js')),
);

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

async function waitForRegistry(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${log()}`);
}

const maybe = DIST_BUILT ? describe : describe.skip;

maybe('a local registry round trip: publish, npm install @kava/cli and a third-party scorer, run kava', () => {
  const work = mkdtempSync(join(tmpdir(), 'kava-registry-'));
  const project = join(work, 'project');
  let registry = '';
  let verdaccio: ChildProcess | undefined;
  let verdaccioLog = '';

  beforeAll(async () => {
    const storage = join(work, 'storage');
    mkdirSync(storage);
    // No uplinks: a name not published here is a 404, never a download.
    writeFileSync(
      join(work, 'verdaccio.yaml'),
      [
        `storage: ${JSON.stringify(storage)}`,
        `auth: { htpasswd: { file: ${JSON.stringify(join(work, 'htpasswd'))}, max_users: 10 } }`,
        'uplinks: {}',
        "packages: { '**': { access: $all, publish: $authenticated, unpublish: $authenticated } }",
        'web: { enable: false }',
        'log: { type: stdout, format: pretty, level: warn }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    registry = `http://127.0.0.1:${port}/`;
    verdaccio = spawn(
      process.execPath,
      [VERDACCIO, '--config', join(work, 'verdaccio.yaml'), '--listen', `127.0.0.1:${port}`],
      { env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    verdaccio.stdout!.on('data', (d: Buffer) => (verdaccioLog += d.toString()));
    verdaccio.stderr!.on('data', (d: Buffer) => (verdaccioLog += d.toString()));
    await waitForRegistry(registry, verdaccio, () => verdaccioLog);

    // A publisher account, as `npm adduser` would make it; its token goes in a publish-only npmrc.
    const res = await fetch(`${registry}-/user/org.couchdb.user:publisher`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'publisher', password: 'round-trip-test' }),
    });
    const { token } = (await res.json()) as { token: string };
    expect(token).toBeTruthy();
    const hostPath = registry.replace(/^http:/, '');
    writeFileSync(join(work, 'publish.npmrc'), `${hostPath}:_authToken=${token}\nregistry=${registry}\n`);
  }, 90_000);

  afterAll(() => {
    verdaccio?.kill();
    rmSync(work, { recursive: true, force: true });
  });

  const publish = (cwd: string, extra: string[] = []) =>
    run(
      'npm',
      ['publish', ...extra, '--ignore-scripts', '--userconfig', join(work, 'publish.npmrc'), '--registry', registry],
      cwd,
    );

  it('publishes every @kava package and the third-party scorer', () => {
    const r = publish(REPO, ['-w', 'packages']);
    expect(r.code).toBe(0);
    for (const p of [
      'core',
      'cli',
      'plugin-rkv',
      'plugin-keydiff',
      'plugin-presses',
      'plugin-backbone-llama',
      'plugin-backbone-qwen',
      'plugin-tensorboard',
      'experiments',
    ]) {
      expect(r.out).toContain(`+ @kava/${p}@`);
    }
    const scorer = join(work, 'scorer');
    cpSync(join(REPO, 'test/fixtures/kava-plugin-example'), scorer, { recursive: true });
    const pkg = JSON.parse(readFileSync(join(scorer, 'package.json'), 'utf8'));
    writeFileSync(join(scorer, 'package.json'), JSON.stringify({ ...pkg, name: SCORER }, null, 2));
    const s = publish(scorer);
    expect(s.out).toContain(`+ ${SCORER}@`);
    expect(s.code).toBe(0);
  }, 180_000);

  it('npm install @kava/cli and the scorer in a fresh project; the native addon builds once approved', () => {
    mkdirSync(project);
    writeFileSync(join(project, '.npmrc'), `@kava:registry=${registry}\n@acme:registry=${registry}\n`);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-kava-project', private: true }, null, 2));
    const r = run('npm', ['install', '@kava/cli', SCORER, '--prefer-offline', '--no-audit', '--no-fund'], project);
    expect(r.out).not.toMatch(/EBADENGINE/);
    expect(r.code).toBe(0);
    // The packages came from the local registry, and the plugin's peer resolved to the same core.
    const installed = (name: string) =>
      JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8')).version;
    expect(installed('@kava/core')).toBe(
      JSON.parse(readFileSync(join(REPO, 'packages/kava-core/package.json'), 'utf8')).version,
    );
    expect(installed(SCORER)).toBe('0.1.0');
    expect(existsSync(join(project, 'node_modules/@kava/plugin-rkv/node_modules/@kava/core'))).toBe(false);

    // npm 11.19 runs an unapproved install script with a warning (strict-allow-scripts refuses
    // it); the documented approve + rebuild records the approval and builds the addon now.
    const approve = run('npm', ['install-scripts', 'approve', '@kava/core'], project);
    expect(approve.code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).allowScripts).toHaveProperty(
      '@kava/core',
      true,
    );
    const rebuild = run('npm', ['rebuild', '@kava/core', '--foreground-scripts'], project);
    expect(rebuild.code).toBe(0);
    expect(rebuild.out).toMatch(/kava native: /);
    if (NATIVE_HERE) {
      expect(rebuild.out).toMatch(
        /kava native: built native\/build\/Release\/kava_native\.node on (OpenBLAS|KaVa portable GEMM)/,
      );
      expect(existsSync(join(project, 'node_modules/@kava/core/native/build/Release/kava_native.node'))).toBe(true);
    }
  }, 300_000);

  it('npx kava plugins lists the third-party scorer', () => {
    const r = run('npx', ['--no', 'kava', 'plugins'], project);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/@kava\/plugin-rkv\n\s+scorer\s+rkv/);
    expect(r.stdout).not.toContain('value-norm'); // not configured yet: plugins are opt-in by config
  }, 120_000);

  it('npx kava train runs 3 steps with the scorer named in the config file, on the fast path where BLAS exists', () => {
    writeFileSync(
      join(project, 'kava.config.json'),
      JSON.stringify(
        {
          preset: 'tiny-llama',
          plugins: [SCORER],
          compression: { scorer: 'value-norm', options: { power: 2 } },
          backbone: { overrides: { numLayers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 64 } },
          data: { synthetic: { trainSize: 64, testSize: 8 } },
          latent: { count: 4, iterations: 1 },
          train: { batchSize: 4, microBatchSize: 4, checkpointEvery: 0 },
          eval: { limit: 8 },
        },
        null,
        2,
      ),
    );
    const listed = run('npx', ['--no', 'kava', 'plugins'], project);
    expect(listed.stdout).toMatch(/\(@acme\/kava-plugin-example\)\n\s+scorer\s+value-norm/);

    const r = run('npx', ['--no', 'kava', 'train', '--steps', '3', '--out', 'runs'], project);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const backend = r.stdout.split('\n').find((l) => l.startsWith('backend: '))!;
    if (NATIVE_HERE) expect(backend).toMatch(/native sgemm: (OpenBLAS|KaVa portable GEMM)/);
    else expect(backend).toMatch(/npm install-scripts approve @kava\/core && npm rebuild @kava\/core/);
    expect(r.stdout).toMatch(/^step 3\/3 .*kv \d/m);
    const runDir = join(project, 'runs', readdirSync(join(project, 'runs'))[0]!);
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    expect(config.compression).toMatchObject({ scorer: 'value-norm', options: { power: 2 } });
    expect(config.plugins).toEqual([SCORER]);
  }, 180_000);

  // What a machine without libopenblas-dev gets from the same tarball: KAVA_BLAS=portable makes
  // the install script skip OpenBLAS, as if its headers were missing.
  (NATIVE_HERE ? it : it.skip)(
    'without a system BLAS the installed package builds and runs the portable GEMM',
    () => {
      const rebuild = run('npm', ['rebuild', '@kava/core', '--foreground-scripts'], project, 300_000, {
        KAVA_BLAS: 'portable',
      });
      expect(rebuild.code).toBe(0);
      expect(rebuild.out).toMatch(/kava native: built native\/build\/Release\/kava_native\.node on KaVa portable GEMM/);
      const r = run('npx', ['--no', 'kava', 'train', '--steps', '1', '--out', 'runs-portable'], project);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').find((l) => l.startsWith('backend: '))).toMatch(
        /native sgemm: KaVa portable GEMM \((avx512|avx2|generic)\)/,
      );
      expect(r.stdout).toMatch(/^step 1\/1 /m);
    },
    300_000,
  );
});
