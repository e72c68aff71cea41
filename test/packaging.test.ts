// Every package is publishable as it stands: what `npm pack` ships (README, LICENSE, the built
// entry points, the CLI launcher, the native addon's sources), manifests that resolve from a
// registry (no workspace-only references, the plugins' peer on @kava/core satisfiable by the
// version published beside them), the supported Node range, and lockstep versions moved by
// one command (scripts/version.mjs). test/registry-roundtrip.test.ts installs them for real.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
  workspaces: string[];
};

interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: { node?: string };
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | { types?: string; default?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}
interface Packed {
  name: string;
  files: { path: string }[];
}

const manifests = root.workspaces.map((w) => ({
  dir: w,
  pkg: JSON.parse(readFileSync(join(REPO, w, 'package.json'), 'utf8')) as Manifest,
}));
const kavaPackages = manifests.filter((m) => m.pkg.name.startsWith('@kava/'));

let packed: Map<string, Set<string>>;

beforeAll(() => {
  // One `npm pack --dry-run` over every workspace: the file lists npm would publish.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--workspaces'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  const list = JSON.parse(r.stdout) as Packed[];
  packed = new Map(list.map((p) => [p.name, new Set(p.files.map((f) => f.path))]));
});

describe('every @kava package', () => {
  it('covers the nine packages', () => {
    expect(kavaPackages.map((m) => m.pkg.name).sort()).toEqual([
      '@kava/cli',
      '@kava/core',
      '@kava/experiments',
      '@kava/plugin-backbone-llama',
      '@kava/plugin-backbone-qwen',
      '@kava/plugin-keydiff',
      '@kava/plugin-presses',
      '@kava/plugin-rkv',
      '@kava/plugin-tensorboard',
    ]);
  });

  it.each(kavaPackages.map((m) => [m.pkg.name, m] as const))(
    '%s ships its README, LICENSE and every exported file',
    (name, { dir, pkg }) => {
      const files = packed.get(name)!;
      expect(files).toBeDefined();
      for (const f of ['package.json', 'README.md', 'LICENSE']) expect(files).toContain(f);
      expect(readFileSync(join(REPO, dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO, 'LICENSE'), 'utf8'));
      expect(pkg.license).toBe('MIT');
      const targets = [
        pkg.main,
        pkg.types,
        ...Object.values(pkg.bin ?? {}),
        ...Object.entries(pkg.exports ?? {})
          .filter(([k]) => k !== './package.json')
          .flatMap(([, v]) => (typeof v === 'string' ? [v] : [v.types, v.default])),
      ];
      for (const t of targets) {
        expect(t).toBeDefined();
        expect(files).toContain(t!.replace(/^\.\//, ''));
      }
      // every export names its types, so TypeScript users get declarations from the entry they import
      for (const [key, v] of Object.entries(pkg.exports ?? {}))
        if (key !== './package.json') expect(typeof v === 'object' && v.types).toBeTruthy();
      expect([...files].some((f) => f.endsWith('.tsbuildinfo'))).toBe(false);
      expect([...files].some((f) => f.includes('/test/') || f.startsWith('test/'))).toBe(false);
    },
  );

  it.each(kavaPackages.map((m) => [m.pkg.name, m.pkg] as const))(
    '%s declares the supported Node range and resolves from a registry',
    (_name, pkg) => {
      expect(pkg.engines?.node).toBe(root.engines.node);
      for (const spec of [...Object.values(pkg.dependencies ?? {}), ...Object.values(pkg.peerDependencies ?? {})]) {
        expect(spec).not.toMatch(/^(workspace:|file:|link:|\.|\/)/);
      }
      // @kava packages are released together and pin each other exactly
      for (const [dep, spec] of Object.entries({ ...pkg.dependencies, ...pkg.peerDependencies })) {
        if (dep.startsWith('@kava/')) expect(spec).toBe(root.version);
      }
    },
  );

  it('plugins take @kava/core as a peer (one core and one tfjs per project), the CLI as a dependency', () => {
    for (const { pkg } of kavaPackages.filter((m) => m.pkg.name.startsWith('@kava/plugin-'))) {
      expect(pkg.peerDependencies?.['@kava/core']).toBe(root.version);
      expect(pkg.dependencies?.['@kava/core']).toBeUndefined();
    }
    const cli = kavaPackages.find((m) => m.pkg.name === '@kava/cli')!.pkg;
    expect(cli.bin).toEqual({ kava: 'bin/kava.js' });
    expect(
      Object.keys(cli.dependencies!)
        .filter((d) => d.startsWith('@kava/'))
        .sort(),
    ).toEqual(
      kavaPackages
        .map((m) => m.pkg.name)
        .filter((n) => n !== '@kava/cli')
        .sort(),
    );
  });

  it('@kava/core ships the native addon sources and the install script that builds them', () => {
    const core = kavaPackages.find((m) => m.pkg.name === '@kava/core')!.pkg;
    expect(core.scripts?.install).toBe('node scripts/build-native.mjs');
    const files = packed.get('@kava/core')!;
    for (const f of [
      'scripts/build-native.mjs',
      'native/binding.gyp',
      'native/src/addon.cc',
      'native/src/matmul.cc',
      'native/src/elementwise.cc',
      'native/src/blas.cc',
      'native/src/gemm_kernel.cc',
    ]) {
      expect(files).toContain(f);
    }
    expect([...files].some((f) => f.startsWith('native/build/'))).toBe(false); // built where installed, never shipped
  });
});

describe('scripts/version.mjs', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(REPO, 'scripts/version.mjs'), ...args], { encoding: 'utf8' });

  it('--check: the repository is in lockstep', () => {
    const r = run(['--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('moves every version and every @kava reference at once, keeping exact pins exact and carets carets', () => {
    const copy = mkdtempSync(join(tmpdir(), 'kava-version-'));
    cpSync(join(REPO, 'package.json'), join(copy, 'package.json'));
    for (const w of root.workspaces) {
      mkdirSync(join(copy, w), { recursive: true });
      cpSync(join(REPO, w, 'package.json'), join(copy, w, 'package.json'));
    }
    const r = run(['0.2.0-rc.1', '--no-lock', '--root', copy]);
    expect(r.status).toBe(0);
    const read = (w: string) => JSON.parse(readFileSync(join(copy, w, 'package.json'), 'utf8')) as Manifest;
    expect(read('.').version).toBe('0.2.0-rc.1');
    expect(read('packages/cli').dependencies!['@kava/core']).toBe('0.2.0-rc.1');
    expect(read('packages/plugin-rkv').peerDependencies!['@kava/core']).toBe('0.2.0-rc.1');
    expect(read('test/fixtures/kava-plugin-example').peerDependencies!['@kava/core']).toBe('^0.2.0-rc.1');
    expect(read('packages/cli').dependencies!.commander).toBe(
      kavaPackages.find((m) => m.pkg.name === '@kava/cli')!.pkg.dependencies!.commander,
    );
    expect(run(['--check', '--root', copy]).status).toBe(0);
    // and --check names what is out of step
    expect(run(['--check', '0.1.9', '--root', copy]).stderr).toMatch(
      /packages\/kava-core\/package\.json: version is 0\.2\.0-rc\.1, expected 0\.1\.9/,
    );
  });

  it('refuses a malformed version', () => {
    const r = run(['2.0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a version or an option: 2\.0/);
  });
});
