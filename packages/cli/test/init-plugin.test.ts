// `kava init --plugin scorer <name>` writes a plugin package whose own `npm test` (build with
// strict tsc, then node's test runner over the @kava/core/testing contract) passes as written.
// The package's node_modules are linked to this repository's @kava/core, TypeScript and
// @types/node, as `npm install` would provide them (the registry round trip test installs for real).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const BUILT =
  existsSync(join(REPO, 'packages/cli/dist/main.js')) &&
  existsSync(join(REPO, 'packages/kava-core/dist/testing/index.js'));
const kava = (args: string[], cwd: string) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });

/** What `npm install` in the new package provides, linked from this repository. */
function linkDevDependencies(pkg: string): void {
  const link = (target: string, path: string) => {
    mkdirSync(dirname(join(pkg, 'node_modules', path)), { recursive: true });
    symlinkSync(target, join(pkg, 'node_modules', path));
  };
  link(join(REPO, 'packages/kava-core'), '@kava/core');
  link(join(REPO, 'node_modules/typescript'), 'typescript');
  link(join(REPO, 'node_modules/@types/node'), '@types/node');
  link('../typescript/bin/tsc', '.bin/tsc');
}

const maybe = BUILT ? describe : describe.skip;

maybe('kava init --plugin scorer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kava-init-plugin-'));
  const pkg = join(dir, 'kava-plugin-key-energy');

  it('writes package.json, TypeScript source, tsconfig, README and a contract test', () => {
    const r = kava(['init', '--plugin', 'scorer', '@acme/kava-plugin-key-energy'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${pkg}`);
    expect(readdirSync(pkg).sort()).toEqual([
      '.gitignore',
      'LICENSE',
      'README.md',
      'package.json',
      'src',
      'test',
      'tsconfig.json',
    ]);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    const coreVersion = JSON.parse(readFileSync(join(REPO, 'packages/kava-core/package.json'), 'utf8')).version;
    expect(manifest).toMatchObject({
      name: '@acme/kava-plugin-key-energy',
      type: 'module',
      peerDependencies: { '@kava/core': `^${coreVersion}` },
      // Developed against the @kava/core this CLI runs with, by path (not on the public registry yet).
      devDependencies: { '@kava/core': `file:${realpathSync(join(REPO, 'packages/kava-core'))}` },
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    });
    expect(readFileSync(join(pkg, 'src/index.ts'), 'utf8')).toContain("name: 'key-energy'");
    // A plugin takes the plugin face (@kava/core), as the docs show, not the application's.
    expect(readFileSync(join(pkg, 'src/index.ts'), 'utf8')).toContain("from '@kava/core';");
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} the authors of @acme\/kava-plugin-key-energy\n/,
    );
    expect(readFileSync(join(pkg, 'test/contract.test.js'), 'utf8')).toContain("from '@kava/core/testing'");
    expect(readFileSync(join(pkg, 'README.md'), 'utf8')).toContain('"compression": { "scorer": "key-energy"');
    // nothing half-written beside it
    expect(readdirSync(dir)).toEqual(['kava-plugin-key-energy']);
  });

  it("the package's own npm test builds it and passes every contract check", () => {
    linkDevDependencies(pkg);
    const r = spawnSync('npm', ['test'], { cwd: pkg, encoding: 'utf8', timeout: 180_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status).toBe(0);
    // node's test reporter: TAP ("ok 3 - title", "# pass 22") on Node 20 in a pipe, spec ("✔ title", "ℹ pass 22") on 22+
    for (const check of [
      'float32',
      'NaN',
      'needs',
      'padding',
      'budget',
      'same input and seed',
      'no tensor',
      'neither disposed',
    ]) {
      expect(out).toMatch(new RegExp(`^(ok \\d+ - |✔ )power 2: .*${check}`, 'm'));
    }
    expect(out).toMatch(/^[#ℹ] pass 22$/m);
    expect(out).toMatch(/^[#ℹ] fail 0$/m);
    expect(out).toMatch(/^(ok \d+ - |✔ )the plugin registers "key-energy" with validated options/m);
    expect(existsSync(join(pkg, 'dist/index.d.ts'))).toBe(true);
  }, 180_000);

  it("without skipLibCheck, strict tsc fails only in tfjs's own declaration files (why the scaffold sets it)", () => {
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.json', '--noEmit', '--skipLibCheck', 'false', '--lib', 'ES2023,DOM'],
      { cwd: pkg, encoding: 'utf8' },
    );
    const files = [...new Set([...r.stdout.matchAll(/^(\S+\.d\.ts)\(\d+,\d+\): error/gm)].map((m) => m[1]!))];
    expect(files.length).toBeGreaterThan(0);
    // @kava/core's declarations and the plugin's code are strict-clean; every error is tfjs's
    for (const f of files) expect(f).toMatch(/node_modules\/@tensorflow\/tfjs-(core|layers)\/dist\//);
  }, 120_000);

  it('refuses an existing folder, a bad name and an unknown kind, naming what was expected', () => {
    const again = kava(['init', '--plugin', 'scorer', '@acme/kava-plugin-key-energy'], dir);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`init --plugin: ${pkg} already exists`);
    const bad = kava(['init', '--plugin', 'scorer', 'My Scorer'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"My Scorer" is not a valid npm package name/);
    const kind = kava(['init', '--plugin', 'dataset', 'kava-plugin-x'], dir);
    expect(kind.status).toBe(2);
    expect(kind.stderr).toMatch(/unknown plugin kind "dataset" \(expected one of: scorer\)/);
    const missing = kava(['init', '--plugin', 'scorer'], dir);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/the package name is missing/);
    expect(readdirSync(dir)).toEqual(['kava-plugin-key-energy']);
  });
});

// docs/experiments.md, "Compare your scorer": the scaffold, built, next to the page's grid file;
// `kava experiment run --dry-run` resolves every run's config with the new scorer loaded by path.
maybe('docs/experiments.md: compare your scorer', () => {
  it("the page's grid loads the scaffolded scorer and plans its runs", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-compare-scorer-'));
    const made = kava(['init', '--plugin', 'scorer', 'kava-plugin-my-scorer'], dir);
    expect(made.status).toBe(0);
    const pkg = join(dir, 'kava-plugin-my-scorer');
    linkDevDependencies(pkg);
    const build = spawnSync('npm', ['run', 'build'], { cwd: pkg, encoding: 'utf8', timeout: 180_000 });
    expect(build.status).toBe(0);
    const page = readFileSync(join(REPO, 'docs/experiments.md'), 'utf8');
    const section = page.slice(page.indexOf('## Compare your scorer'));
    const grid = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    writeFileSync(join(dir, 'my-grid.yaml'), grid);
    const r = kava(['experiment', 'run', 'my-grid.yaml', '--dry-run'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('my-scorer-vs-rkv: 12 runs (backbone: 3, methods: 9), 0 done; 12 to train');
    expect(r.stdout).toContain('kava-my-scorer-equation-seed2');
  }, 240_000);
});
