#!/usr/bin/env node
// Moves every @kava/* package to one version, in lockstep (they are released together; the CLI
// and the built-in plugins pin @kava/core exactly):
//
//   node scripts/version.mjs 0.2.0     (or: npm run version:set -- 0.2.0)
//   node scripts/version.mjs --check   exits 1 naming every manifest that is out of step
//
// It writes the root package.json and every workspace's package.json: the `version` of each
// @kava/* package, and every reference to a @kava/* package in dependencies, peerDependencies
// and devDependencies (an exact pin stays exact, `^x` stays a caret range). Then it refreshes
// package-lock.json with `npm install --package-lock-only` (skip with --no-lock).
// --root DIR works on another checkout (the tests use a temporary copy).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const DEP_FIELDS = ['dependencies', 'peerDependencies', 'devDependencies'];

function usage(message) {
  console.error(`${message}\nusage: node scripts/version.mjs <x.y.z> [--no-lock] [--root DIR] | --check [--root DIR]`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    root: resolve(dirname(fileURLToPath(import.meta.url)), '..'),
    lock: true,
    check: false,
    version: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') args.check = true;
    else if (a === '--no-lock') args.lock = false;
    else if (a === '--root') args.root = resolve(argv[++i] ?? usage('--root needs a folder'));
    else if (SEMVER.test(a)) args.version = a;
    else usage(`not a version or an option: ${a}`);
  }
  if (!args.check && args.version === undefined) usage('no version given');
  return args;
}

/** The root manifest and every workspace's, each with its path. */
function manifests(root) {
  const rootFile = join(root, 'package.json');
  const rootPkg = JSON.parse(readFileSync(rootFile, 'utf8'));
  const files = [rootFile, ...(rootPkg.workspaces ?? []).map((w) => join(root, w, 'package.json'))];
  return files.map((file) => ({ file, pkg: JSON.parse(readFileSync(file, 'utf8')) }));
}

/** `version` with the range operator of `spec` kept: '0.1.0' -> '0.2.0', '^0.1.0' -> '^0.2.0'. */
function retarget(spec, version) {
  const op = /^[\^~]/.exec(spec)?.[0] ?? '';
  return `${op}${version}`;
}

const isKava = (name) => name.startsWith('@kava/');

/** Every place in the manifests that should hold the release version, with what it holds. */
function versionSlots(list, rootName) {
  const slots = [];
  for (const { file, pkg } of list) {
    if (isKava(pkg.name) || pkg.name === rootName)
      slots.push({ file, pkg, where: 'version', get: () => pkg.version, set: (v) => (pkg.version = v) });
    for (const field of DEP_FIELDS) {
      for (const name of Object.keys(pkg[field] ?? {}).filter(isKava)) {
        const spec = pkg[field][name];
        slots.push({
          file,
          pkg,
          where: `${field}.${name}`,
          get: () => spec.replace(/^[\^~]/, ''),
          set: (v) => (pkg[field][name] = retarget(spec, v)),
        });
      }
    }
  }
  return slots;
}

const args = parseArgs(process.argv.slice(2));
const list = manifests(args.root);
const rootName = list[0].pkg.name;
const slots = versionSlots(list, rootName);

if (args.check) {
  const expected = args.version ?? list[0].pkg.version;
  const off = slots.filter((s) => s.get() !== expected);
  for (const s of off) console.error(`${s.file}: ${s.where} is ${s.get()}, expected ${expected}`);
  if (off.length > 0) process.exit(1);
  console.log(`all ${slots.length} @kava version references are ${expected}`);
  process.exit(0);
}

for (const s of slots) s.set(args.version);
for (const { file, pkg } of list) writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
console.log(`set ${slots.length} @kava version references in ${list.length} manifests to ${args.version}`);
if (args.lock) {
  const r = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: args.root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(
      'npm install --package-lock-only failed; the manifests are written, package-lock.json is not refreshed',
    );
    process.exit(r.status ?? 1);
  }
}
