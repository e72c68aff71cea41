import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import { CONFIG_LOADERS } from './file-loaders.js';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { loadPlugins, type PluginSet, type PluginSpec } from './load-plugins.js';
import type { Registry } from '../plugin/registry.js';
import type { KavaPlugin } from '../plugin/plugin.js';
import { configLayerSchema, configSchema, type KavaConfig, type KavaConfigInput } from '../config/schema.js';
import { mergeConfigs, isPlainObject } from '../config/merge.js';
import { parseOrThrow, show } from '../config/errors.js';
import { presetNames } from '../config/preset-names.js';
import { modelDirOfId } from '../hub/cache.js';
import { datasetFileOfId, isHubDataset } from '../hub/dataset.js';
import type { DownloadProgress } from '../hub/download.js';

/** Where cosmiconfig looks, in order, in each folder from `cwd` up to the project root. */
export const SEARCH_PLACES = [
  'package.json',
  '.kavarc',
  '.kavarc.json',
  '.kavarc.yaml',
  '.kavarc.yml',
  '.kavarc.js',
  '.kavarc.mjs',
  '.kavarc.cjs',
  '.kavarc.ts',
  'kava.config.js',
  'kava.config.mjs',
  'kava.config.cjs',
  'kava.config.ts',
  'kava.config.json',
  'kava.config.yaml',
  'kava.config.yml',
];

export interface ConfigFile {
  /** Absolute path, or null when no file was found. */
  file: string | null;
  /** What the file holds (not yet merged with defaults). */
  raw: Record<string, unknown>;
}

/**
 * Two configuration files in one folder would be chosen between silently by the search order
 * (kava.config.json over kava.config.yaml): refused, naming both.
 */
function checkOneConfigFile(dir: string): void {
  const found = SEARCH_PLACES.filter((name) => {
    const file = resolve(dir, name);
    if (!existsSync(file)) return false;
    if (name !== 'package.json') return true;
    try {
      const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return isPlainObject(json) && 'kava' in json;
    } catch {
      return false;
    }
  });
  if (found.length > 1)
    throw new ConfigError(
      `${dir} holds ${found.length} configuration files (${found.join(', ')}); the search would take ${found[0]} and ignore the rest: keep one, or name it with --config`,
    );
}

/** Finds and reads the config file: `explicit` if given, else a search from `cwd`. */
export async function findConfigFile(cwd: string, explicit?: string | null): Promise<ConfigFile> {
  const explorer = cosmiconfig('kava', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'project',
    loaders: CONFIG_LOADERS,
    cache: false,
    // An empty file is found (and refused below), not skipped for one further up.
    ignoreEmptySearchPlaces: false,
  });
  let result;
  try {
    if (explicit) {
      const file = resolve(cwd, explicit);
      if (!existsSync(file)) throw new ConfigError(`--config ${explicit}: file not found (${file})`);
      result = await explorer.load(file);
    } else {
      result = await explorer.search(cwd);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const where = explicit ? resolve(cwd, explicit) : `a config file under ${cwd}`;
    throw new ConfigError(`cannot read ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!result) return { file: null, raw: {} };
  // An empty file is a mistake (a failed write, a file not yet filled in), not a wish for the defaults.
  if (result.isEmpty)
    throw new ConfigError(
      `${result.filepath}: the configuration file is empty; write {} (JSON) for the built-in defaults, or remove the file`,
    );
  if (!explicit) checkOneConfigFile(dirname(result.filepath));
  let raw: unknown = result.config;
  if (isPlainObject(raw) && 'default' in raw && Object.keys(raw).length === 1) raw = raw.default;
  if (!isPlainObject(raw)) {
    throw new ConfigError(
      `${result.filepath}: expected the configuration to be an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  return { file: result.filepath, raw };
}

/** Where `resolveConfig` looks and what it layers: folder, file, presets, overrides, plugins. */
export interface ResolveOptions {
  cwd?: string;
  /** An explicit config file (`--config`). */
  configFile?: string | null;
  /** Presets from the command line; they replace the file's `preset` key. */
  presets?: readonly string[];
  /** Settings from command-line flags (highest precedence). */
  overrides?: KavaConfigInput;
  /** Plugin objects added after the configured ones (tests, embedding). */
  extraPlugins?: readonly KavaPlugin[];
  /**
   * The plugins the application ships, loaded before the configured ones unless the config says
   * `builtinPlugins: false` (the `kava` command passes its four; core itself names none).
   */
  builtinPlugins?: readonly PluginSpec[];
  /**
   * Presets that fill in a kind (backbone, data, method) that neither the command line nor the
   * config file names: every `kava` command passes its default (tiny-llama), so `--preset codi`
   * runs CODI on the tiny-llama preset, with the tiny preset's CPU budget.
   */
  defaultPresets?: readonly string[];
  /** Plugin names or paths from the command line (`--plugin`), resolved from the current folder. */
  extraPluginSpecs?: readonly string[];
  /** Read no config file at all (the built-in defaults and presets only: `kava init`). */
  ignoreConfigFiles?: boolean;
  /** Shown the progress of a model or dataset named by id that must be downloaded first. */
  hubProgress?: DownloadProgress;
}

/** A validated configuration with the file it came from and its plugins loaded. */
export interface ResolvedConfig {
  config: KavaConfig;
  /** The config file used, or null. */
  file: string | null;
  /** Folder that relative paths in the config are resolved from. */
  baseDir: string;
  /** Preset names applied, in order. */
  presets: string[];
  /** Those of `presets` that came from `defaultPresets` (no preset of their kind was named). */
  defaultedPresets: string[];
  plugins: PluginSet;
}

/**
 * Resolves the configuration: built-in defaults < presets < config file < command-line flags,
 * then loads the configured plugins and validates the parts they own (scorer and loss options,
 * and that every named scorer, evictor, loss, dataset format and backbone family exists).
 */
export async function resolveConfig(options: ResolveOptions = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const { file, raw } = options.ignoreConfigFiles
    ? { file: null, raw: {} }
    : await findConfigFile(cwd, options.configFile);
  const source = file ? relative(cwd, file) || file : 'configuration';
  // Each layer must be valid on its own, so an error names the layer that has it.
  parseOrThrow(configLayerSchema, raw, source);
  if (options.overrides) parseOrThrow(configLayerSchema, options.overrides, 'command line');

  const baseDir = file ? dirname(file) : cwd;
  const fileConfig = parseOrThrow(configLayerSchema, mergeConfigs(raw, options.overrides), source);
  const cliPlugins = (options.extraPluginSpecs ?? []).map((spec) => (spec.startsWith('.') ? resolve(cwd, spec) : spec));
  const plugins = await loadPlugins([...fileConfig.plugins, ...cliPlugins, ...(options.extraPlugins ?? [])], {
    baseDir,
    builtins: fileConfig.builtinPlugins ? (options.builtinPlugins ?? []) : [],
  });

  const named =
    options.presets && options.presets.length > 0 ? presetNames(options.presets) : presetNames(fileConfig.preset);
  const kindOf = (name: string) => plugins.registry.get('preset', name, 'preset').kind;
  const given = options.presets && options.presets.length > 0 ? options.presets : fileConfig.preset;
  const where = options.presets && options.presets.length > 0 ? '--preset' : `${source}: preset`;
  const text = given === null || given === undefined ? '' : [given].flat().join(',');
  // `--preset ,` would otherwise run the defaults as if nothing had been asked for.
  if (text.length > 0 && named.length === 0)
    throw new ConfigError(`${where} "${text}": names no preset (see \`kava plugins\` for the presets)`);
  const namedKinds = new Set(named.map(kindOf));
  const defaultedPresets = presetNames(options.defaultPresets ?? []).filter((name) => !namedKinds.has(kindOf(name)));
  const presets = [...defaultedPresets, ...named];
  // Presets apply by kind, backbone < data < method, whatever the order they are listed in: a
  // backbone preset carries the paper's per-dataset hyper-parameters, a method preset switches
  // loss terms and latent modes on or off on top of them.
  const KIND_ORDER = { backbone: 0, data: 1, method: 2 } as const;
  const ordered = presets
    .map((name, i) => ({ name, i, preset: plugins.registry.get('preset', name, 'preset') }))
    .sort((a, b) => KIND_ORDER[a.preset.kind] - KIND_ORDER[b.preset.kind] || a.i - b.i);
  const presetLayers = ordered.map(({ name, preset }) => {
    const layer = typeof preset.config === 'function' ? preset.config({ presets }) : preset.config;
    parseOrThrow(configLayerSchema, layer, `preset "${name}"`);
    return layer;
  });
  // Two named presets of one kind that set a key differently would silently keep the last
  // (`kava,codi` trains CODI, `tiny-llama,tiny-qwen` a Qwen): refuse them, naming the key.
  const clash = presetClash(
    ordered
      .map(({ name, preset }, i) => ({ name, kind: preset.kind, layer: presetLayers[i] }))
      .filter((p) => named.includes(p.name)),
  );
  if (clash)
    throw new ConfigError(
      `${where} ${named.join(',')}: ${clash.a} and ${clash.b} are both ${clash.kind} presets and set ${clash.key} differently (${show(clash.va)} and ${show(clash.vb)}); name one`,
    );
  // The defaults are the bottom layer (not only the schema's fallbacks), so a preset that sets
  // one loss term's weight keeps the other terms instead of replacing the whole record.
  const defaults = configSchema.parse({});
  const fromPresets = parseOrThrow(configSchema, mergeConfigs(defaults, ...presetLayers), 'presets');
  for (const [layer, where] of [
    [raw, source],
    [options.overrides, 'command line'],
  ] as const) {
    checkBackbonePreset(layer, where, fromPresets.backbone.preset, presets, plugins.registry);
  }
  const config = parseOrThrow(
    configSchema,
    mergeConfigs(defaults, ...presetLayers, raw, options.overrides, { preset: presets.length ? presets : null }),
    source,
  );
  validatePluginOwned(config, plugins);
  if (config.backbone.model !== null)
    config.backbone.modelDir = await modelDirOfId(config.backbone.model, config.backbone.modelDir, {
      progress: options.hubProgress,
    });
  await resolveHubDatasets(config, options.hubProgress);
  return { config, file, baseDir, presets, defaultedPresets, plugins };
}

/**
 * Data settings that name a hub dataset (`hf:org/name[:split]`) become the local file holding
 * it (from the cache, or downloaded), so everything after reads files as before. A spec without a
 * split means the setting's own: train for data.train, test for data.test and eval.data.
 */
async function resolveHubDatasets(config: KavaConfig, progress?: DownloadProgress): Promise<void> {
  const settings = [
    ['data', 'train', 'train'],
    ['data', 'test', 'test'],
    ['data', 'validation', 'validation'],
    ['eval', 'data', 'test'],
  ] as const;
  for (const [section, key, defaultSplit] of settings) {
    const holder = config[section] as unknown as Record<string, unknown>;
    const value = holder[key];
    if (typeof value === 'string' && isHubDataset(value))
      holder[key] = await datasetFileOfId(value, { field: `${section}.${key}`, defaultSplit, progress });
  }
}

/**
 * One meaning for a preset name: `preset` (a file's top-level key, or `--preset`) applies a run
 * recipe (architecture and, for llama-1b and the like, LoRA and the paper's Table 6 settings);
 * `backbone.preset` only records which architecture that recipe chose. A file that writes
 * `backbone.preset: "llama-1b"` would otherwise load Llama with another preset's training
 * settings, so a value that differs from the presets' choice and names a run preset is refused
 * with the spelling that applies it. (An architecture a plugin registers without a run preset
 * may still be named here.)
 */
function checkBackbonePreset(
  layer: unknown,
  where: string,
  chosen: string,
  presets: readonly string[],
  registry: Registry,
): void {
  if (!isPlainObject(layer) || !isPlainObject(layer.backbone)) return;
  const value = layer.backbone.preset;
  if (typeof value !== 'string' || value === chosen) return;
  const asPreset = registry.list('preset').find((p) => p.name === value);
  if (!asPreset) return;
  const others = presets.filter((p) => registry.get('preset', p, 'preset').kind !== 'backbone');
  const spelling = [value, ...others].join(',');
  throw new ConfigError(
    `${where}: backbone.preset "${value}" would pick only the architecture, while the run settings came from preset "${chosen}". ` +
      `To apply preset "${value}" (${asPreset.description}), write "preset": "${spelling}" at the top level of the file ` +
      `(or pass --preset ${spelling}) and remove backbone.preset.`,
  );
}

/** `compression.options` validated by the selected scorer's schema, with its defaults filled in. */
export function scorerOptions(
  compression: Pick<KavaConfig['compression'], 'scorer' | 'options'>,
  registry: Registry,
): Record<string, unknown> {
  const scorer = registry.get('scorer', compression.scorer, 'compression.scorer');
  if (scorer.options) {
    return parseOrThrow(scorer.options, compression.options, `scorer "${scorer.name}" (plugin ${scorer.plugin})`, [
      'compression',
      'options',
    ]) as Record<string, unknown>;
  }
  if (Object.keys(compression.options).length > 0) {
    throw new ConfigError(
      `compression.options: scorer "${scorer.name}" takes no options, got ${Object.keys(compression.options).join(', ')}`,
    );
  }
  return {};
}

/** `compression.evictorOptions` validated by the selected evictor's schema, with its defaults filled in. */
export function evictorOptions(
  compression: Pick<KavaConfig['compression'], 'evictor' | 'evictorOptions'>,
  registry: Registry,
): Record<string, unknown> {
  const evictor = registry.get('evictor', compression.evictor, 'compression.evictor');
  if (evictor.options)
    return parseOrThrow(
      evictor.options,
      compression.evictorOptions,
      `evictor "${evictor.name}" (plugin ${evictor.plugin})`,
      ['compression', 'evictorOptions'],
    ) as Record<string, unknown>;
  if (Object.keys(compression.evictorOptions).length > 0)
    throw new ConfigError(
      `compression.evictorOptions: evictor "${evictor.name}" takes no options, got ${Object.keys(compression.evictorOptions).join(', ')}`,
    );
  return {};
}

/**
 * The loggers a run opens, each with its options parsed: those the config names, and those on by
 * default that it does not turn off (`false` entries stay, so the run's config.json says so).
 */
export function loggerOptions(loggers: KavaConfig['loggers'], registry: Registry): KavaConfig['loggers'] {
  const out: KavaConfig['loggers'] = {};
  const defaults = registry.list('logger').filter((l) => l.enabledByDefault && loggers[l.name] === undefined);
  for (const [name, entry] of [...Object.entries(loggers), ...defaults.map((l) => [l.name, {}] as const)]) {
    if (entry === false) {
      out[name] = false;
      continue;
    }
    const logger = registry.get('logger', name, `loggers.${name}`);
    const schema = logger.options ?? z.strictObject({});
    out[name] = parseOrThrow(schema, entry, `logger "${name}" (plugin ${logger.plugin})`, ['loggers', name]) as Record<
      string,
      unknown
    >;
  }
  return out;
}

/** Checks the parts of a resolved config that plugins own. */
export function validatePluginOwned(config: KavaConfig, { registry }: PluginSet): void {
  config.compression.options = scorerOptions(config.compression, registry);
  config.compression.evictorOptions = evictorOptions(config.compression, registry);
  for (const [name, entry] of Object.entries(config.losses)) {
    const loss = registry.get('loss', name, `losses.${name}`);
    const { weight, warmup, ...rest } = entry;
    const schema = loss.options ?? z.strictObject({});
    config.losses[name] = {
      weight,
      ...(warmup ? { warmup } : {}),
      ...(parseOrThrow(schema, rest, `loss "${name}" (plugin ${loss.plugin})`, ['losses', name]) as object),
    };
  }
  config.loggers = loggerOptions(config.loggers, registry);
  if (config.backbone.family !== null) registry.get('backbone', config.backbone.family, 'backbone.family');
  for (const [key, format] of [
    ['data.format', config.data.format],
    ['eval.format', config.eval.format],
  ] as const) {
    if (format !== 'auto') registry.get('dataset', format, key);
  }
}

/** Every leaf of a config layer as a dotted path (arrays are leaves). */
function leaves(value: unknown, prefix = ''): [string, unknown][] {
  if (!isPlainObject(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

/** The first key that two presets of one kind set to different values, or null. */
function presetClash(presets: { name: string; kind: string; layer: unknown }[]) {
  for (const [i, a] of presets.entries())
    for (const b of presets.slice(i + 1)) {
      if (a.kind !== b.kind) continue;
      const other = new Map(leaves(b.layer));
      for (const [key, va] of leaves(a.layer)) {
        if (!other.has(key)) continue;
        const vb = other.get(key);
        if (JSON.stringify(va) !== JSON.stringify(vb)) return { a: a.name, b: b.name, kind: a.kind, key, va, vb };
      }
    }
  return null;
}
