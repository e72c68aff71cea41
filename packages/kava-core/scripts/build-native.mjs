#!/usr/bin/env node
// Builds @kava/core's optional native matmul addon (native/ in this package): KaVa's portable
// GEMM from the package's own sources, and the system's OpenBLAS too when its headers and
// library are found (then it is the default; it was faster here). It is @kava/core's `install` script, so it runs wherever the package is
// installed: in a user's project (subject to npm 11's allowScripts policy, hence the hint
// `npm install-scripts approve @kava/core && npm rebuild @kava/core`), and in the KaVa
// repository on every `npm install` / `npm ci` (`npm run build:native` reruns it). It ALWAYS exits 0: where
// it cannot build (no C++ toolchain, KAVA_NATIVE=off), it prints one line saying why and what to
// install, and KaVa runs on the stock tfjs kernels. KAVA_NATIVE_VERBOSE=1 shows the full compiler
// log; KAVA_BLAS=portable builds without OpenBLAS even where it is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The @kava/core package folder (this script is in its scripts/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = join(ROOT, 'native');
// The same command as the run-time hint in src/runtime/native-kernels.ts: it works in any
// project that has @kava/core installed, and in the repository.
const ENABLE =
  'a C++ toolchain (apt-get install g++ make python3), then npm install-scripts approve @kava/core && npm rebuild @kava/core';
const verbose = process.env.KAVA_NATIVE_VERBOSE === '1';

function skip(reason) {
  console.log(`kava native: not built (${reason}); using the stock tfjs kernels. Enable the fast path: ${ENABLE}`);
  process.exit(0);
}

function run(cmd, args, env, stdio = verbose ? 'inherit' : 'pipe') {
  return spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', stdio });
}

function pkgConfig(flag) {
  const r = spawnSync('pkg-config', [flag, 'openblas'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : [];
}

/** The folder holding an OpenBLAS cblas.h (the one that declares openblas_set_num_threads). */
function findInclude() {
  const fromPkg = pkgConfig('--cflags-only-I').map((f) => f.slice(2));
  const multiarch = existsSync('/usr/include')
    ? readdirSync('/usr/include').filter((d) => d.endsWith('-linux-gnu'))
    : [];
  const candidates = [
    process.env.KAVA_BLAS_INCLUDE,
    ...fromPkg,
    ...multiarch.flatMap((d) => [
      `/usr/include/${d}/openblas-pthread`,
      `/usr/include/${d}/openblas-openmp`,
      `/usr/include/${d}/openblas-serial`,
    ]),
    '/usr/include/openblas',
    '/usr/local/include',
    '/usr/include',
  ].filter(Boolean);
  return candidates.find((dir) => {
    const header = join(dir, 'cblas.h');
    return existsSync(header) && readFileSync(header, 'utf8').includes('openblas_set_num_threads');
  });
}

/** The folder holding libopenblas.so. */
function findLibDir() {
  const fromPkg = pkgConfig('--libs-only-L').map((f) => f.slice(2));
  const multiarch = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')) : [];
  const candidates = [
    process.env.KAVA_BLAS_LIBDIR,
    ...fromPkg,
    ...multiarch.flatMap((d) => [`/usr/lib/${d}/openblas-pthread`, `/usr/lib/${d}/openblas-openmp`, `/usr/lib/${d}`]),
    '/usr/local/lib',
    '/usr/lib',
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'libopenblas.so')));
}

/** node-gyp: the copy npm gives lifecycle scripts, else the one inside npm's own install. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(ROOT, 'node_modules/node-gyp/bin/node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p));
}

try {
  if (process.env.KAVA_NATIVE === 'off') skip('KAVA_NATIVE=off');
  // OpenBLAS is optional: without it the addon runs on the portable GEMM alone.
  const wantOpenBlas = process.env.KAVA_BLAS !== 'portable';
  const include = wantOpenBlas ? findInclude() : undefined;
  const libdir = include === undefined ? undefined : findLibDir();
  const nodeGyp = findNodeGyp();
  if (nodeGyp === undefined) skip('node-gyp not found (it ships with npm)');
  const args = [nodeGyp, 'rebuild', '--directory', NATIVE];
  // Node's own headers, so node-gyp never tries to download them (no internet here).
  const nodedir = resolve(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(nodedir, 'include/node/node_api.h')))
    args.push(`--nodedir=${nodedir}`);
  const env = { ...process.env, KAVA_BLAS_INCLUDE: libdir ? include : '', KAVA_BLAS_LIBDIR: libdir ?? '' };
  const result = run(process.execPath, args, env);
  if (result.status !== 0) {
    const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
    const firstError = log
      .split('\n')
      .find((l) => /error/i.test(l) && !/gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
    const noToolchain = /not found|No such file|ENOENT|find Python|make: not|c\+\+: not|g\+\+: not/i.test(log);
    skip(
      `${noToolchain ? 'no C++ toolchain' : 'compile failed'}: ${(firstError ?? `node-gyp exited with ${result.status}`).trim()}` +
        (noToolchain ? '' : '; rerun with KAVA_NATIVE_VERBOSE=1 for the full log'),
    );
  }
  // Load it once here, so a broken link shows now rather than as a silent fallback later.
  const addonPath = join(NATIVE, 'build/Release/kava_native.node');
  const check = run(
    process.execPath,
    [
      '-e',
      `const a=require(${JSON.stringify(addonPath)});console.log(a.blas.library+' ('+a.blas.config+'), '+a.blas.threads+' thread(s)')`,
    ],
    process.env,
    'pipe',
  );
  if (check.status !== 0) skip(`built but failed to load: ${(check.stderr ?? '').trim().split('\n')[0]}`);
  const noBlas = libdir
    ? ''
    : wantOpenBlas
      ? include
        ? ` (OpenBLAS headers in ${include} but no libopenblas.so)`
        : ' (no system OpenBLAS found; libopenblas-dev adds it, about 10% faster end to end here)'
      : ' (KAVA_BLAS=portable)';
  console.log(`kava native: built ${addonPath.slice(ROOT.length + 1)} on ${(check.stdout ?? '').trim()}${noBlas}`);
} catch (err) {
  skip(`unexpected error: ${err instanceof Error ? err.message : String(err)}`);
}
