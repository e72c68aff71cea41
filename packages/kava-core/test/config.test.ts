import { join } from 'node:path';
import { ConfigError, resolveConfig as resolveWith, configSchema, type ResolveOptions } from '@kava/core/internal';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { PLUGIN_FIXTURES, tempProject } from './helpers.js';

/** The configuration as the `kava` command resolves it: with its built-in plugins. */
const resolveConfig = (options: ResolveOptions) => resolveWith({ builtinPlugins: BUILTIN_PLUGINS, ...options });

const json = (value: unknown) => JSON.stringify(value, null, 2);

describe('config search (cosmiconfig, module name "kava")', () => {
  const cases: [string, Record<string, string>][] = [
    ['kava.config.json', { 'kava.config.json': json({ latent: { count: 11 } }) }],
    ['kava.config.yaml', { 'kava.config.yaml': 'latent:\n  count: 11\n' }],
    [
      'kava.config.js',
      { 'kava.config.js': 'export default { latent: { count: 11 } };\n', 'package.json': json({ type: 'module' }) },
    ],
    ['kava.config.mjs', { 'kava.config.mjs': 'export default { latent: { count: 11 } };\n' }],
    ['kava.config.cjs', { 'kava.config.cjs': 'module.exports = { latent: { count: 11 } };\n' }],
    [
      'kava.config.ts',
      {
        'kava.config.ts':
          'const config: { latent: { count: number } } = { latent: { count: 11 } };\nexport default config;\n',
      },
    ],
    ['.kavarc', { '.kavarc': json({ latent: { count: 11 } }) }],
    ['.kavarc.json', { '.kavarc.json': json({ latent: { count: 11 } }) }],
    ['.kavarc.yml', { '.kavarc.yml': 'latent: { count: 11 }\n' }],
    ['package.json#kava', { 'package.json': json({ name: 'x', kava: { latent: { count: 11 } } }) }],
  ];
  it.each(cases)('finds %s', async (file, files) => {
    const dir = tempProject(files);
    const resolved = await resolveConfig({ cwd: dir });
    expect(resolved.file).toBe(join(dir, file.replace('#kava', '')));
    expect(resolved.config.latent.count).toBe(11);
  });

  // The same mistake (a missing comma after line 2) in every format: the error names file:line:column.
  const broken: [string, Record<string, string>, string][] = [
    [
      'kava.config.mjs',
      { 'kava.config.mjs': 'export default {\n  train: { steps: 3 }\n  method: "kava",\n};\n' },
      "3:3: SyntaxError: Unexpected identifier 'method'",
    ],
    [
      'kava.config.js',
      {
        'kava.config.js': 'export default {\n  train: { steps: 3 }\n  method: "kava",\n};\n',
        'package.json': json({ type: 'module' }),
      },
      "3:3: SyntaxError: Unexpected identifier 'method'",
    ],
    [
      'kava.config.cjs',
      { 'kava.config.cjs': 'module.exports = {\n  train: { steps: 3 }\n  method: "kava",\n};\n' },
      "3:3: SyntaxError: Unexpected identifier 'method'",
    ],
    [
      'kava.config.json',
      { 'kava.config.json': '{\n  "train": { "steps": 3 }\n  "method": "kava"\n}\n' },
      '3:3: not valid JSON',
    ],
    ['.kavarc', { '.kavarc': '{\n  "train": { "steps": 3 }\n  "method": "kava"\n}\n' }, '3:3: not valid YAML'],
    [
      'kava.config.yaml',
      { 'kava.config.yaml': 'train:\n  steps: 3\n method: kava\n' },
      '3:2: not valid YAML (bad indentation of a mapping entry)',
    ],
    [
      'kava.config.mjs',
      { 'kava.config.mjs': 'const steps = stepz;\nexport default { train: { steps } };\n' },
      '1:15: ReferenceError: stepz is not defined',
    ],
  ];
  it.each(broken)('a broken %s is an error naming file:line:column (%#)', async (file, files, where) => {
    const dir = tempProject(files);
    for (const configFile of [undefined, file]) {
      const err = (await resolveConfig({ cwd: dir, ...(configFile ? { configFile } : {}) }).then(
        () => null,
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message.startsWith(`${join(dir, file)}:${where}`)).toBe(true);
      expect(err.message).not.toMatch(/bug in Node\.js|race condition/);
    }
  });

  it('searches parent folders up to the project root', async () => {
    const dir = tempProject({
      'package.json': json({ name: 'p' }),
      'kava.config.json': json({ latent: { count: 5 } }),
      'sub/deeper/.keep': '',
    });
    const resolved = await resolveConfig({ cwd: join(dir, 'sub/deeper') });
    expect(resolved.config.latent.count).toBe(5);
    expect(resolved.baseDir).toBe(dir);
  });

  it('uses an explicit --config file over the searched one', async () => {
    const dir = tempProject({
      'kava.config.json': json({ latent: { count: 5 } }),
      'other.yaml': 'latent:\n  count: 9\n',
    });
    const resolved = await resolveConfig({ cwd: dir, configFile: 'other.yaml' });
    expect(resolved.config.latent.count).toBe(9);
  });

  it('reports a missing explicit file by name', async () => {
    const dir = tempProject();
    await expect(resolveConfig({ cwd: dir, configFile: 'nope.json' })).rejects.toThrow(
      /--config nope\.json: file not found/,
    );
  });

  it('reports a file that does not parse', async () => {
    const dir = tempProject({ 'kava.config.json': '{ "latent": ' });
    await expect(resolveConfig({ cwd: dir })).rejects.toThrow(/kava\.config\.json/);
  });

  it('refuses an empty file instead of running the defaults, and two config files in one folder', async () => {
    for (const [file, text] of [
      ['kava.config.json', ''],
      ['.kavarc.yaml', '  \n'],
    ] as const) {
      const dir = tempProject({ [file]: text });
      await expect(resolveConfig({ cwd: dir })).rejects.toThrow(
        `${join(dir, file)}: the configuration file is empty; write {} (JSON) for the built-in defaults, or remove the file`,
      );
    }
    const two = tempProject({
      'package.json': json({ name: 'p', kava: { latent: { count: 3 } } }),
      'kava.config.json': json({ latent: { count: 5 } }),
      'kava.config.yaml': 'latent:\n  count: 9\n',
    });
    await expect(resolveConfig({ cwd: two })).rejects.toThrow(
      `${two} holds 3 configuration files (package.json, kava.config.json, kava.config.yaml); the search would take package.json and ignore the rest: keep one, or name it with --config`,
    );
    // Naming one is fine; a package.json without a "kava" key is not a configuration file.
    expect((await resolveConfig({ cwd: two, configFile: 'kava.config.yaml' })).config.latent.count).toBe(9);
    const one = tempProject({
      'package.json': json({ name: 'p' }),
      'kava.config.json': json({ latent: { count: 5 } }),
    });
    expect((await resolveConfig({ cwd: one })).config.latent.count).toBe(5);
  });

  it('gives the built-in defaults with no file', async () => {
    const dir = tempProject();
    const resolved = await resolveConfig({ cwd: dir });
    expect(resolved.file).toBeNull();
    const { compression, losses, loggers, ...rest } = resolved.config;
    const {
      compression: defaultCompression,
      losses: _defaultLosses,
      loggers: _defaultLoggers,
      ...defaults
    } = configSchema.parse({});
    expect(rest).toEqual(defaults);
    // Loggers on by default (the kava command's TensorBoard plugin) appear with their options.
    expect(loggers).toEqual({ tensorboard: { dir: 'tensorboard' } });
    // Plugin-owned parts are completed with the owning plugin's defaults.
    expect({ ...compression, options: {} }).toEqual(defaultCompression);
    expect(compression.options).toMatchObject({ lambda: 0.1 });
    expect(losses.kv).toEqual({ weight: 1, type: 'smooth-l1', layerwiseStd: true, keyPositions: 'cached' });
    expect(losses.codi).toEqual({ weight: 10, type: 'smooth-l1', layerwiseStd: true });
    expect(resolved.config.latent).toEqual({ count: 24, mode: 'jacobi', iterations: 3, projection: true });
    expect(resolved.config.compression.scorer).toBe('rkv');
  });
});

describe('precedence: defaults < preset < config file < flags', () => {
  it('layers each source over the one before', async () => {
    const dir = tempProject({
      'kava.config.json': json({ preset: 'codi', train: { lr: 0.001 }, latent: { iterations: 2 } }),
    });
    const resolved = await resolveConfig({ cwd: dir, overrides: { train: { seed: 7 }, latent: { iterations: 5 } } });
    expect(resolved.presets).toEqual(['codi']);
    expect(resolved.config.latent.mode).toBe('autoregressive'); // from the preset
    expect(resolved.config.losses.kv!.weight).toBe(0); // from the preset
    expect(resolved.config.train.lr).toBe(0.001); // file over default
    expect(resolved.config.latent.iterations).toBe(5); // flag over file
    expect(resolved.config.train.seed).toBe(7); // flag
    expect(resolved.config.train.batchSize).toBe(128); // default
  });

  it("a config file overrides a preset, and command-line presets replace the file's", async () => {
    const dir = tempProject({ 'kava.config.json': json({ preset: 'codi', latent: { mode: 'jacobi' } }) });
    expect((await resolveConfig({ cwd: dir })).config.latent.mode).toBe('jacobi');
    const fromFlags = await resolveConfig({ cwd: dir, presets: ['full-cot'] });
    expect(fromFlags.presets).toEqual(['full-cot']);
    expect(fromFlags.config.method).toBe('full-cot');
    expect(fromFlags.config.losses['student-ce']!.weight).toBe(0);
  });

  it('a loss entry without a weight keeps the weight of a lower layer; a misspelt option is named; a new term needs one', async () => {
    const at = (losses: unknown) => tempProject({ 'kava.config.json': json({ losses }) });
    const kv = (await resolveConfig({ cwd: at({ kv: { type: 'mse' } }), presets: ['kava'] })).config.losses.kv;
    expect(kv).toEqual({ weight: 1, type: 'mse', layerwiseStd: true, keyPositions: 'cached' });
    await expect(resolveConfig({ cwd: at({ kv: { typ: 'mse' } }), presets: ['kava'] })).rejects.toThrow(
      /losses\.kv\.typ: unknown key \(did you mean "type"\?\)/,
    );
    await expect(resolveConfig({ cwd: at({ mine: { scale: 2 } }) })).rejects.toThrow(
      /losses\.mine\.weight: expected number, got nothing/,
    );
  });

  it('refuses two presets of one kind that set a key differently, and a preset list that names none', async () => {
    const cwd = tempProject();
    await expect(resolveConfig({ cwd, presets: ['kava,codi'] })).rejects.toThrow(
      /--preset kava,codi: kava and codi are both method presets and set method differently \("kava" and "codi"\); name one/,
    );
    await expect(resolveConfig({ cwd, presets: ['tiny-llama', 'tiny-qwen'] })).rejects.toThrow(
      /tiny-llama and tiny-qwen are both backbone presets and set backbone\.preset differently/,
    );
    await expect(resolveConfig({ cwd, presets: [','] })).rejects.toThrow(/--preset ",": names no preset/);
    const inFile = tempProject({ 'kava.config.json': json({ preset: 'codi,pccot' }) });
    await expect(resolveConfig({ cwd: inFile })).rejects.toThrow(
      /kava\.config\.json: preset codi,pccot: codi and pccot/,
    );
    expect((await resolveConfig({ cwd, presets: ['tiny-llama,kava'] })).config.method).toBe('kava');
  });

  it('method presets switch loss terms on and off without dropping the others', async () => {
    const weights = async (preset: string) => {
      const { config } = await resolveConfig({ cwd: tempProject(), presets: [preset] });
      return Object.fromEntries(Object.entries(config.losses).map(([k, v]) => [k, v.weight]));
    };
    expect(await weights('kava')).toEqual({ 'teacher-ce': 1, 'student-ce': 1, codi: 10, kv: 1 });
    expect(await weights('codi')).toEqual({ 'teacher-ce': 1, 'student-ce': 1, codi: 10, kv: 0 });
    expect(await weights('pccot')).toEqual({ 'teacher-ce': 1, 'student-ce': 1, codi: 10, kv: 0 });
    expect(await weights('full-cot')).toEqual({ 'teacher-ce': 1, 'student-ce': 0, codi: 0, kv: 0 });
    expect(await weights('no-cot')).toEqual({ 'teacher-ce': 1, 'student-ce': 0, codi: 0, kv: 0 });
  });

  it('applies several presets in order and plugins can contribute presets', async () => {
    const dir = tempProject({ 'kava.config.json': json({ plugins: [join(PLUGIN_FIXTURES, 'dir-plugin')] }) });
    const resolved = await resolveConfig({ cwd: dir, presets: ['codi,dir-preset'] });
    expect(resolved.presets).toEqual(['codi', 'dir-preset']);
    expect(resolved.config.latent.count).toBe(7);
    expect(resolved.config.latent.mode).toBe('autoregressive');
  });

  it('default presets fill only the kinds nobody named', async () => {
    const dir = tempProject();
    const alone = await resolveConfig({ cwd: dir, defaultPresets: ['tiny-llama'] });
    expect(alone.presets).toEqual(['tiny-llama']);
    expect(alone.defaultedPresets).toEqual(['tiny-llama']);
    const withMethod = await resolveConfig({ cwd: dir, presets: ['codi'], defaultPresets: ['tiny-llama'] });
    expect(withMethod.presets).toEqual(['tiny-llama', 'codi']);
    expect(withMethod.config).toMatchObject({ method: 'codi', train: { steps: 300, batchSize: 16 } });
    const withBackbone = await resolveConfig({ cwd: dir, presets: ['tiny-qwen'], defaultPresets: ['tiny-llama'] });
    expect(withBackbone.presets).toEqual(['tiny-qwen']);
    expect(withBackbone.defaultedPresets).toEqual([]);
  });

  it('refuses backbone.preset naming a run preset other than the one applied, showing the top-level spelling', async () => {
    const dir = tempProject({ 'kava.config.json': json({ preset: 'codi', backbone: { preset: 'llama-1b' } }) });
    const err = await resolveConfig({ cwd: dir, defaultPresets: ['tiny-llama'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^kava\.config\.json: backbone\.preset "llama-1b" would pick only the architecture, while the run settings came from preset "tiny-llama".*"preset": "llama-1b,codi"/,
    );
    const flag = await resolveConfig({ cwd: tempProject(), overrides: { backbone: { preset: 'tiny-qwen' } } }).catch(
      (e: unknown) => e,
    );
    expect((flag as Error).message).toMatch(/^command line: backbone\.preset "tiny-qwen"/);
  });

  it('refuses a misspelt backbone.overrides field where the configuration is read (config --print agrees with train)', async () => {
    const dir = tempProject({ 'kava.config.json': json({ backbone: { overrides: { numLayer: 2 } } }) });
    await expect(resolveConfig({ cwd: dir })).rejects.toThrow(
      /backbone\.overrides\.numLayer: unknown key \(did you mean "numLayers"\?\)/,
    );
  });

  it('rejects an unknown preset listing the known ones, with a did-you-mean for a typo', async () => {
    const dir = tempProject();
    const err = await resolveConfig({ cwd: dir, presets: ['mystery'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /preset: no loaded plugin provides a preset named "mystery"\. Available: .*kava.* Add the plugin that provides it/,
    );
    await expect(resolveConfig({ cwd: dir, presets: ['tiny-lama'] })).rejects.toThrow(
      /preset named "tiny-lama"; did you mean "tiny-llama"\? Available: .*tiny-qwen\.$/,
    );
    await expect(resolveConfig({ cwd: dir, overrides: { compression: { scorer: 'keydif' } } })).rejects.toThrow(
      /compression\.scorer: no loaded plugin provides a scorer named "keydif"; did you mean "keydiff"\?/,
    );
  });
});

describe('validation errors name the file, the key path, the expected and the actual value', () => {
  const failing = async (config: unknown, overrides?: Record<string, unknown>) => {
    const dir = tempProject({ 'kava.config.json': json(config) });
    const err = await resolveConfig({ cwd: dir, overrides: overrides as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  };

  it('wrong type', async () => {
    expect(await failing({ train: { lr: 'fast' } })).toMatch(
      /kava\.config\.json: train\.lr: expected number, got "fast"/,
    );
  });
  it('value outside an enum', async () => {
    expect(await failing({ latent: { mode: 'diagonal' } })).toMatch(
      /latent\.mode: expected one of "jacobi", "autoregressive", got "diagonal"/,
    );
  });
  it('out of range', async () => {
    expect(await failing({ latent: { count: 0 } })).toMatch(/latent\.count: .*>0.*got 0/);
  });
  it('unknown key with a did-you-mean', async () => {
    expect(await failing({ train: { learningRate: 1 } })).toMatch(
      /kava\.config\.json: train\.learningRate: unknown key/,
    );
    expect(await failing({ latnet: {} })).toMatch(/latnet: unknown key \(did you mean "latent"\?\)/);
    expect(await failing({ compression: { scorrer: 'rkv' } })).toMatch(
      /compression\.scorrer: unknown key \(did you mean "scorer"\?\)/,
    );
  });
  it('lists every problem at once', async () => {
    const message = await failing({ train: { lr: 'x', seed: 1.5 }, latent: { mode: 'y' } });
    expect(message.split('\n').filter((l) => l.includes('kava.config.json'))).toHaveLength(3);
  });
  it('an invalid flag is reported as coming from the command line', async () => {
    expect(await failing({}, { latent: { count: -1 } })).toMatch(/command line: latent\.count/);
  });
  it('the config must be an object', async () => {
    expect(await failing([1, 2])).toMatch(/expected the configuration to be an object, got an array/);
  });
  it('a scorer that no plugin provides, listing those that exist', async () => {
    expect(await failing({ compression: { scorer: 'scissorhands' } })).toMatch(
      /compression\.scorer: no loaded plugin provides a scorer named "scissorhands"\. Available: .*keydiff.*rkv/,
    );
  });
  it("a scorer's options are validated by the scorer's own schema", async () => {
    const plugin = join(PLUGIN_FIXTURES, 'local-scorer.mjs');
    expect(
      await failing({ plugins: [plugin], compression: { scorer: 'position', options: { scale: 'big' } } }),
    ).toMatch(/scorer "position" \(plugin local-scorer\): compression\.options\.scale: expected number, got "big"/);
    expect(await failing({ plugins: [plugin], compression: { scorer: 'position', options: { scael: 2 } } })).toMatch(
      /compression\.options\.scael: unknown key \(did you mean "scale"\?\)/,
    );
  });
  it('a loss that no plugin provides, and bad loss options', async () => {
    expect(await failing({ losses: { kl: { weight: 1 } } })).toMatch(
      /losses\.kl: no loaded plugin provides a loss named "kl"/,
    );
    expect(await failing({ losses: { kv: { weight: 1, type: 'huber' } } })).toMatch(
      /losses\.kv\.type: expected one of "smooth-l1", "l1", "mse", got "huber"/,
    );
  });
  it('a backbone family that no plugin provides', async () => {
    expect(await failing({ backbone: { family: 'mistral' } })).toMatch(
      /backbone\.family: no loaded plugin provides a backbone named "mistral"\. Available: .*llama.*qwen2/,
    );
  });
});
