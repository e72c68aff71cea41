// A third-party scorer package, linked into node_modules by the workspace like any npm install,
// named in a config file: the compression the trainer runs uses its scores (seen through the
// `compression` hook), and switching the config back to a built-in scorer is a one-line change.
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  tf,
  ConfigError,
  compressCache,
  createCompression,
  initBackend,
  loadPlugins,
  resolveConfig,
  type ScorerInput,
} from '@kava/core/internal';
import { scorerContractCases } from '@kava/core/testing';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// One example, one layer, two KV heads, five CoT tokens. Head 1 is head 0 with the tokens in
// reverse order. value-norm (‖v‖₂: 5, 4, 1, 1, 0.5) keeps tokens 0, 1 in head 0; KeyDiff keeps the
// keys furthest from the mean direction, tokens 3 ([0, 1]) and 4 ([−1, 0]) in head 0.
const keysHead = [
  [1, 0],
  [1, 0.1],
  [1, -0.1],
  [0, 1],
  [-1, 0],
];
const valuesHead = [
  [3, 4],
  [0, 4],
  [1, 0],
  [0, 1],
  [0.5, 0],
];
const valueNorms = valuesHead.map(([a, b]) => Math.hypot(a!, b!));

function teacherCache(): ScorerInput {
  return {
    keys: tf.tensor5d([[[keysHead, [...keysHead].reverse()]]]),
    values: tf.tensor5d([[[valuesHead, [...valuesHead].reverse()]]]),
    mask: tf.tensor2d([[1, 1, 1, 1, 1]]),
    positions: tf.tensor2d([[7, 8, 9, 10, 11]], [1, 5], 'int32'),
    groupSize: 1,
    budget: 2,
    seed: 0,
  };
}

// The scorer plugins are listed explicitly (builtinPlugins: false) so this test needs only the
// packages it is about, not the backbone families.
const SCORER_PLUGINS = ['@kava/plugin-rkv', '@kava/plugin-keydiff', 'kava-plugin-example'];
/** The example package loaded as a config would load it (top-level await: the test cases are listed from it). */
const exampleRegistry = (await loadPlugins(['kava-plugin-example'], { baseDir: REPO })).registry;

function projectWith(config: { plugins?: string[]; compression?: object }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kava-third-party-'));
  writeFileSync(join(dir, 'kava.config.json'), JSON.stringify({ builtinPlugins: false, ...config }, null, 2));
  return dir;
}

/** What a trainer step does with the teacher cache, with a hook tap recording what it saw. */
async function compressWithConfig(dir: string) {
  const { config, plugins } = await resolveConfig({ cwd: dir });
  const compression = createCompression(config.compression, plugins.registry);
  const seen: { scorer: string; scores: number[][][][] }[] = [];
  plugins.hooks.compression.tap('test-observer', (result, info) => {
    seen.push({ scorer: info.scorer, scores: info.scores.arraySync() as number[][][][] });
    return result;
  });
  const input = teacherCache();
  const result = compressCache(compression, input, { hooks: plugins.hooks, step: 3 });
  const kept = result.indices.arraySync();
  tf.dispose([
    result.keys,
    result.values,
    result.indices,
    result.slotMask,
    input.keys,
    input.values!,
    input.mask,
    input.positions,
  ]);
  return { kept, seen, plugins };
}

beforeAll(async () => {
  await initBackend('cpu');
});

test('the example package is linked into node_modules like an installed dependency', async () => {
  const set = await loadPlugins(['kava-plugin-example'], { baseDir: REPO });
  const scorer = set.registry.get('scorer', 'value-norm');
  expect(scorer.plugin).toBe('kava-plugin-example');
  expect(set.plugins.map((p) => p.source)).toContain('kava-plugin-example');
});

test('a config naming the third-party scorer compresses with its scores', async () => {
  const dir = projectWith({ plugins: SCORER_PLUGINS, compression: { scorer: 'value-norm' } });
  const { kept, seen } = await compressWithConfig(dir);
  expect(seen).toHaveLength(1);
  expect(seen[0]!.scorer).toBe('value-norm');
  const scores = seen[0]!.scores[0]![0]!;
  scores[0]!.forEach((s, i) => expect(s).toBeCloseTo(valueNorms[i]!, 5));
  scores[1]!.forEach((s, i) => expect(s).toBeCloseTo([...valueNorms].reverse()[i]!, 5));
  expect(kept).toEqual([
    [
      [
        [0, 1],
        [3, 4],
      ],
    ],
  ]);
});

test('switching the scorer line back to keydiff needs no other change', async () => {
  const dir = projectWith({ plugins: SCORER_PLUGINS, compression: { scorer: 'keydiff' } });
  const { kept, seen } = await compressWithConfig(dir);
  expect(seen.map((s) => s.scorer)).toEqual(['keydiff']);
  expect(kept).toEqual([
    [
      [
        [3, 4],
        [0, 1],
      ],
    ],
  ]);
});

test("the plugin's options are validated by its own schema, with the config file named", async () => {
  const dir = projectWith({ plugins: SCORER_PLUGINS, compression: { scorer: 'value-norm', options: { power: -1 } } });
  const err = await resolveConfig({ cwd: dir }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(
    /scorer "value-norm" \(plugin kava-plugin-example\): compression\.options\.power/,
  );
  const ok = await resolveConfig({
    cwd: projectWith({ plugins: SCORER_PLUGINS, compression: { scorer: 'value-norm', options: { power: 1 } } }),
  });
  expect(ok.config.compression.options).toEqual({ power: 1 });
});

test('naming the scorer without its plugin says which scorers exist', async () => {
  const err = await resolveConfig({
    cwd: projectWith({ plugins: SCORER_PLUGINS.slice(0, 2), compression: { scorer: 'value-norm' } }),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(
    /compression\.scorer: no loaded plugin provides a scorer named "value-norm".*keydiff.*rkv/,
  );
});

describe('the example scorer passes the scorer contract kit (@kava/core/testing), as docs/writing-a-scorer.md tests it', () => {
  for (const power of [1, 2]) {
    const create = () => exampleRegistry.get('scorer', 'value-norm').create({ power });
    for (const c of scorerContractCases(create)) test(`power ${power}: ${c.title}`, () => c.run());
  }
});

/** A project folder whose node_modules links this repository's @kava/core, as an install would. */
function projectWithFiles(files: Record<string, string>, config: object): string {
  const dir = projectWith(config as { plugins?: string[] });
  mkdirSync(join(dir, 'node_modules/@kava'), { recursive: true });
  symlinkSync(join(REPO, 'packages/kava-core'), join(dir, 'node_modules/@kava/core'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

// docs/writing-a-scorer.md, "The shortest path": the file and the config line exactly as the page
// shows them (read from it, so the page cannot drift from what works).
const SHORTEST_PATH = readFileSync(join(REPO, 'docs/writing-a-scorer.md'), 'utf8')
  .split('## The shortest path')[1]!
  .split('\n## ')[0]!;
const ONE_FILE_SCORER = /```js\n([\s\S]*?)```/.exec(SHORTEST_PATH)![1]!;
const ONE_CONFIG_LINE = JSON.parse(/```json\n([\s\S]*?)```/.exec(SHORTEST_PATH)![1]!) as {
  plugins: string[];
  compression: object;
};

test('a new scorer is one file with defineScorer and one config line (docs/writing-a-scorer.md, as written)', async () => {
  expect(ONE_FILE_SCORER).toContain("from '@kava/core'"); // the plugin API, nothing else
  expect(ONE_CONFIG_LINE.plugins).toEqual(['./scorers/value-norm.mjs']);
  const dir = projectWithFiles({}, ONE_CONFIG_LINE);
  mkdirSync(join(dir, 'scorers'));
  writeFileSync(join(dir, 'scorers/value-norm.mjs'), ONE_FILE_SCORER);
  const { kept, seen, plugins } = await compressWithConfig(dir);
  expect(plugins.registry.get('scorer', 'value-norm').plugin).toBe('value-norm');
  seen[0]!.scores[0]![0]![0]!.forEach((s, i) => expect(s).toBeCloseTo(valueNorms[i]!, 5));
  expect(kept).toEqual([
    [
      [
        [0, 1],
        [3, 4],
      ],
    ],
  ]);
});

// How scorers were registered before defineScorer: still accepted as they are.
const OLD_STYLE_PLUGIN = `import { tf, z, checkScorerInput, parseScorerOptions } from '@kava/core';
const options = z.strictObject({ power: z.number().positive().default(2) });
function createValueNormScorer({ power = 2 } = {}) {
  return {
    name: 'value-norm',
    needs: ['keys', 'values'],
    score(input) {
      checkScorerInput(input, 'value-norm', ['keys', 'values']);
      return tf.tidy(() => tf.pow(tf.sum(tf.pow(tf.abs(input.values), power), -1), 1 / power));
    },
  };
}
export default {
  name: 'old-style-plugin',
  register(registry) {
    registry.scorer({ name: 'value-norm', description: 'value norms', options, create: (raw) => createValueNormScorer(parseScorerOptions('value-norm', options, raw)) });
  },
};
`;

test('a scorer registered the old way ({ name, options, create }) still loads, validates and compresses', async () => {
  const files = { 'old-style.mjs': OLD_STYLE_PLUGIN };
  const dir = projectWithFiles(files, {
    plugins: ['./old-style.mjs'],
    compression: { scorer: 'value-norm', options: { power: 1 } },
  });
  const { kept, seen } = await compressWithConfig(dir);
  const l1 = valuesHead.map(([a, b]) => Math.abs(a!) + Math.abs(b!));
  seen[0]!.scores[0]![0]![0]!.forEach((s, i) => expect(s).toBeCloseTo(l1[i]!, 5));
  expect(kept).toEqual([
    [
      [
        [0, 1],
        [3, 4],
      ],
    ],
  ]);
  const bad = projectWithFiles(files, {
    plugins: ['./old-style.mjs'],
    compression: { scorer: 'value-norm', options: { power: 0 } },
  });
  await expect(resolveConfig({ cwd: bad })).rejects.toThrow(
    /scorer "value-norm" \(plugin old-style-plugin\): compression\.options\.power/,
  );
});
