// `kava init --plugin scorer <name>`: writes a ready-to-publish scorer plugin package — a
// TypeScript source, its build, a README, and a test that runs the scorer through the contract
// kit in @kava/core/testing (the checks every built-in scorer passes). The package is written
// under a temporary name and renamed into place, so a failure never leaves half of it.
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, writeFolderAtomic } from '@kava/core/app';

/** Plugin kinds `kava init --plugin` can scaffold. */
export const PLUGIN_KINDS = ['scorer'] as const;

/** npm's rules for a package name (lowercase, URL-safe, optional @scope/), minus the legacy forms. */
const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/** The @kava/core version this CLI runs with: the scaffold's peer range starts there. */
function coreVersion(): string {
  const pkg = createRequire(import.meta.url)('@kava/core/package.json') as { version: string };
  return pkg.version;
}

/**
 * What the scaffold develops against: the @kava/core this CLI runs with, by path. The @kava/*
 * packages are not on the public registry yet, so a version there would make the scaffold's own
 * `npm install` fail; users see only the peer range, which stays a version.
 */
function coreDevDependency(): string {
  const manifest = createRequire(import.meta.url).resolve('@kava/core/package.json');
  return `file:${realpathSync(dirname(manifest))}`;
}

/** The scorer's registry name from the package name: '@me/kava-plugin-key-energy' -> 'key-energy'. */
export function scorerNameOf(packageName: string): string {
  const bare = packageName
    .replace(/^@[^/]+\//, '')
    .replace(/^kava-plugin-/, '')
    .replace(/^kava-/, '');
  return bare.replace(/[^a-z0-9-]/g, '-') || 'scorer';
}

/** The files of a scorer plugin package, by path. */
export function scorerPackageFiles(
  packageName: string,
  version = coreVersion(),
  coreForDevelopment = coreDevDependency(),
): Record<string, string> {
  const scorer = scorerNameOf(packageName);
  const pascal = scorer
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  const factory = `create${pascal}Scorer`;
  // the exported definition, e.g. keyEnergyScorer (a name may start with a digit: then scorer3d...)
  const variable = /^[a-z]/.test(scorer) ? `${scorer.charAt(0)}${pascal.slice(1)}Scorer` : `scorer${pascal}`;
  const packageJson = {
    name: packageName,
    version: '0.1.0',
    description: `A KaVa KV-cache scorer plugin: ${scorer}`,
    keywords: ['kava-plugin', 'kava', 'kv-cache'],
    type: 'module',
    license: 'MIT',
    engines: { node: '>=20.19' },
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    files: ['dist'],
    scripts: {
      build: 'tsc -p tsconfig.json',
      test: 'npm run build && node --test test/*.test.js',
      prepublishOnly: 'npm test',
    },
    // A peer: the plugin runs on the project's own @kava/core (one tfjs engine, one registry).
    peerDependencies: { '@kava/core': `^${version}` },
    devDependencies: { '@kava/core': coreForDevelopment, '@types/node': '^22.0.0', typescript: '~5.9.3' },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      declaration: true,
      outDir: 'dist',
      rootDir: 'src',
      types: ['node'],
      // tfjs 4.22's own declaration files (tfjs-layers) do not pass strict checking; your code
      // still does. See "TypeScript" in the KaVa docs (docs/writing-a-scorer.md).
      skipLibCheck: true,
    },
    include: ['src'],
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    // package.json says MIT; the licence text ships with the package (npm adds LICENSE to every pack).
    LICENSE: `MIT License

Copyright (c) ${new Date().getFullYear()} the authors of ${packageName}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\ndist/\n',
    'src/index.ts': `// ${packageName}: the "${scorer}" KV-cache scorer for KaVa.
// Import tf and z from @kava/core (never your own copies): tensors, kernels and option schemas
// must be the ones the trainer uses.
import { tf, z, defineScorer, type KavaPlugin } from '@kava/core';

/**
 * ${scorer}: scores every CoT token per (example, layer, KV head); higher means keep. This
 * starting point keeps the tokens whose value vectors have the largest L_p norm. defineScorer does
 * the rest of a scorer's work: options parsed and defaulted by the schema, the input checked
 * against \`needs\`, \`score\` run inside tf.tidy; the evictor does top-M per (layer, head),
 * ordering, padding and protected tokens.
 */
export const ${variable} = defineScorer({
  name: '${scorer}',
  description: 'Keep the CoT tokens whose value vectors have the largest L_p norm.',
  options: z.strictObject({
    power: z.number().positive().default(2)
      .describe('p of the L_p norm of each value vector.'),
  }),
  needs: ['keys', 'values'],
  // [B, L, H_kv, N] scores (or [B, N]: one score per token for every layer and head).
  score: (input, { power }) => tf.pow(tf.sum(tf.pow(tf.abs(input.values), power), -1), 1 / power),
});

/** The scorer for raw options (parsed with the schema above; a bad one names the field). */
export const ${factory} = ${variable}.create;

const plugin: KavaPlugin = {
  name: '${packageName}',
  register(registry) {
    registry.scorer(${variable});
  },
};

export default plugin;
`,
    'test/contract.test.js': `// The scorer against the contract every built-in KaVa scorer passes (@kava/core/testing):
// shapes, needs, padding, budgets, determinism, no tensor leaks, inputs untouched.
// Runs the built package (npm test builds first) with node's own test runner.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, Registry } from '@kava/core';
import { scorerContractCases } from '@kava/core/testing';
import plugin, { ${factory} } from '../dist/index.js';

before(async () => {
  await initBackend('cpu');
});

for (const power of [1, 2, 3]) {
  for (const check of scorerContractCases(() => ${factory}({ power }))) {
    test(\`power \${power}: \${check.title}\`, () => check.run());
  }
}

test('the plugin registers "${scorer}" with validated options', () => {
  const registry = new Registry();
  plugin.register(registry);
  const registration = registry.get('scorer', '${scorer}');
  assert.equal(registration.create({}).name, '${scorer}');
  assert.throws(() => registration.create({ power: -1 }), /${scorer}/);
});
`,
    'README.md': `# ${packageName}

A KaVa KV-cache scorer plugin: \`${scorer}\`.

## Use

Install it next to \`@kava/cli\` (the @kava packages are not on the public npm registry yet:
install them from their tarballs, \`npm pack -w packages\` in a KaVa clone, and this package from
its own, \`npm pack\` here):

\`\`\`sh
npm install /path/to/kava-packages/kava-*.tgz /path/to/${packageName.replace(/^@/, '').replace('/', '-')}-0.1.0.tgz
\`\`\`

\`kava.config.json\`:

\`\`\`json
{ "plugins": ["${packageName}"], "compression": { "scorer": "${scorer}", "options": { "power": 2 } } }
\`\`\`

\`npx kava plugins\` lists it with its options; \`npx kava train\` uses it; \`npx kava compress
--scorer ${scorer} --compare rkv ...\` shows what it keeps next to R-KV.

## Develop

\`\`\`sh
npm install        # TypeScript, and the @kava/core that \`kava init\` ran with (by path), as dev dependencies
npm test           # builds, then runs test/contract.test.js: the KaVa scorer contract
npm publish        # runs the tests first (prepublishOnly)
\`\`\`

License: MIT.
`,
  };
}

/** Writes the package into `<dir>/<last part of the name>`; returns the folder. */
export async function writePluginPackage(kind: string, packageName: string | undefined, dir: string): Promise<string> {
  if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError(`init --plugin: unknown plugin kind "${kind}" (expected one of: ${PLUGIN_KINDS.join(', ')})`);
  }
  if (packageName === undefined)
    throw new ConfigError(
      'init --plugin scorer <name>: the package name is missing (for example kava-plugin-my-scorer)',
    );
  if (!PACKAGE_NAME.test(packageName) || packageName.length > 214) {
    throw new ConfigError(
      `init --plugin: "${packageName}" is not a valid npm package name (lowercase letters, digits, "-", "." or "_", optionally @scope/)`,
    );
  }
  const target = resolve(dir, basename(packageName));
  if (existsSync(target))
    throw new ConfigError(`init --plugin: ${target} already exists; choose another name or folder`);
  // Written under a temporary name and renamed into place: a crash leaves no half a package.
  await writeFolderAtomic(target, (staging) => {
    for (const [path, text] of Object.entries(scorerPackageFiles(packageName))) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      writeFileSync(join(staging, path), text);
    }
  });
  return target;
}
