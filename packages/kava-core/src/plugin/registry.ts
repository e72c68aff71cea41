import { z, type ZodType } from 'zod';
import { ConfigError, PluginError } from '../errors.js';
import { likelyMeant } from '../config/errors.js';
import type { BackboneFamily, BackboneShape } from '../contracts/backbone.js';
import type { Evictor, KVScorer } from '../contracts/scorer.js';
import type { LossTerm } from '../contracts/loss.js';
import type { DatasetFormat } from '../contracts/dataset.js';
import type { PresetDefinition } from '../contracts/preset.js';
import type { LoggerContext, MetricsLogger } from '../contracts/logger.js';

/** Common fields of everything a plugin registers. */
interface Named {
  name: string;
  description: string;
}

/**
 * A KV scorer (`defineScorer` makes one): `options` validates `compression.options` when this
 * scorer is selected; `create` takes raw options, `build` (when present) options `options`
 * already parsed, so the config path parses them once.
 */
export interface ScorerRegistration extends Named {
  options?: ZodType;
  /** The scorer for raw `compression.options` (validated here). */
  create(options: Record<string, unknown>): KVScorer;
  /** The scorer for options `options` has parsed already. */
  build?(options: Record<string, unknown>): KVScorer;
}
/** An evictor: keeps the scored tokens under a budget (the top-k evictor, pyramid, adakv). */
export interface EvictorRegistration extends Named {
  /** Validates `compression.evictorOptions`; an evictor without it takes none. */
  options?: ZodType;
  /** The evictor for `compression.evictorOptions`. */
  create(options: Record<string, unknown>): Evictor;
}
/**
 * A loss term (`defineLoss` makes one): `options` validates `losses.<name>` (minus `weight`);
 * `create` takes raw options, `build` (when present) options `options` already parsed.
 */
export interface LossRegistration extends Named {
  options?: ZodType;
  /** The term for raw `losses.<name>` options (validated here). */
  create(options: Record<string, unknown>): LossTerm;
  /** The term for options `options` has parsed already. */
  build?(options: Record<string, unknown>): LossTerm;
}
/** A backbone family; `shapes` maps the names of the architectures it offers (tiny-llama, llama-1b...) to them. */
export type BackboneRegistration = Named & { family: BackboneFamily; shapes?: Record<string, BackboneShape> };
/**
 * A metrics logger: `options` validates `loggers.<name>`; `enabledByDefault` loggers run unless the
 * config sets `loggers.<name>: false` (others run when the config names them).
 */
export interface LoggerRegistration extends Named {
  options?: ZodType;
  enabledByDefault?: boolean;
  create(context: LoggerContext): MetricsLogger;
}
/** A dataset format: how a file's records become examples (`data.format`). */
export type DatasetRegistration = DatasetFormat;
/** A named preset: config a user selects with `--preset`. */
export type PresetRegistration = PresetDefinition;

/** The kinds of parts and their registration shapes. */
export interface RegistrationKinds {
  scorer: ScorerRegistration;
  evictor: EvictorRegistration;
  backbone: BackboneRegistration;
  loss: LossRegistration;
  dataset: DatasetRegistration;
  preset: PresetRegistration;
  logger: LoggerRegistration;
}
/** A kind of part: scorer, evictor, backbone, loss, dataset, preset or logger. */
export type Kind = keyof RegistrationKinds;
/** Every kind, in the order `kava plugins` lists them. */
export const KINDS: readonly Kind[] = ['scorer', 'evictor', 'backbone', 'loss', 'dataset', 'preset', 'logger'];

/** One registered part with the plugin that registered it. */
export type Registered<K extends Kind> = RegistrationKinds[K] & { plugin: string };

/**
 * Named parts contributed by plugins, one table per kind, each part with the plugin that
 * registered it. Names are unique per kind across all plugins. A run picks its parts by the
 * names its configuration gives (docs/architecture.md says why this is a table and not a
 * dependency-injection container).
 */
export class Registry {
  private readonly parts: { [K in Kind]: Map<string, Registered<K>> } = {
    scorer: new Map(),
    evictor: new Map(),
    backbone: new Map(),
    loss: new Map(),
    dataset: new Map(),
    preset: new Map(),
    logger: new Map(),
  };
  /** Set by the loader while a plugin's `register` runs, so registrations know their owner. */
  private currentPlugin = '(core)';

  /** Runs `fn` with registrations attributed to `plugin`. */
  withPlugin(plugin: string, fn: () => void): void {
    const previous = this.currentPlugin;
    this.currentPlugin = plugin;
    try {
      fn();
    } finally {
      this.currentPlugin = previous;
    }
  }

  // One typed entry point per kind (what plugins call); a name taken already is refused.
  /** Registers a KV scorer under its name. */
  readonly scorer = (reg: ScorerRegistration): void => this.add('scorer', reg.name, reg);
  /** Registers an evictor under its name. */
  readonly evictor = (reg: EvictorRegistration): void => this.add('evictor', reg.name, reg);
  /** Registers a backbone family (and the shapes it offers) under its name. */
  readonly backbone = (reg: BackboneRegistration): void => this.add('backbone', reg.name, reg);
  /** Registers a loss term under its name (its `losses.<name>` key). */
  readonly loss = (reg: LossRegistration): void => this.add('loss', reg.name, reg);
  /** Registers a dataset format under its name (`data.format`). */
  readonly dataset = (reg: DatasetRegistration): void => this.add('dataset', reg.name, reg);
  /** Registers a preset under its name (`--preset`). */
  readonly preset = (reg: PresetRegistration): void => this.add('preset', reg.name, reg);
  /** Registers a metrics logger under its name (`loggers.<name>`). */
  readonly logger = (reg: LoggerRegistration): void => this.add('logger', reg.name, reg);

  private add<K extends Kind>(kind: K, name: string, reg: RegistrationKinds[K]): void {
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
      throw new PluginError(
        this.currentPlugin,
        `${kind} name ${JSON.stringify(name)} is invalid (letters, digits, ".", "_", "-")`,
      );
    }
    const table = this.parts[kind] as Map<string, Registered<K>>;
    const existing = table.get(name);
    if (existing !== undefined) {
      throw new PluginError(
        this.currentPlugin,
        `${kind} "${name}" is already registered by plugin "${existing.plugin}"`,
      );
    }
    table.set(name, { ...reg, plugin: this.currentPlugin });
  }

  /** Whether a part of `kind` is registered as `name`. */
  has(kind: Kind, name: string): boolean {
    return this.parts[kind].has(name);
  }

  /** The part named `name`, or a ConfigError naming `field` and listing what exists. */
  get<K extends Kind>(kind: K, name: string, field: string = kind): Registered<K> {
    const part = (this.parts[kind] as Map<string, Registered<K>>).get(name);
    if (part === undefined) {
      const known = this.names(kind);
      const meant = likelyMeant(name, known);
      throw new ConfigError(
        `${field}: no loaded plugin provides a ${kind} named "${name}"` +
          (meant !== null ? `; did you mean "${meant}"? ` : '. ') +
          (known.length ? `Available: ${known.join(', ')}.` : `No ${kind}s are registered.`) +
          (meant !== null ? '' : ' Add the plugin that provides it to "plugins" in your config.'),
      );
    }
    return part;
  }

  /** Every registered part of a kind, sorted by name. */
  list<K extends Kind>(kind: K): Registered<K>[] {
    return this.names(kind).map((name) => (this.parts[kind] as Map<string, Registered<K>>).get(name)!);
  }

  /** The names registered for `kind`, sorted. */

  names(kind: Kind): string[] {
    return [...this.parts[kind].keys()].sort();
  }

  /** Names of parts registered by `plugin`, per kind, in registration order. */
  contributions(plugin: string): Partial<Record<Kind, string[]>> {
    const out: Partial<Record<Kind, string[]>> = {};
    for (const kind of KINDS) {
      for (const part of this.parts[kind].values()) if (part.plugin === plugin) (out[kind] ??= []).push(part.name);
    }
    return out;
  }
}

/** The schema of a part that takes no options. */
export const NO_OPTIONS = z.strictObject({});

/**
 * What `defineScorer` / `defineLoss` return beside the registration's own fields: the part from
 * parsed or raw options, and itself as a one-part plugin.
 */
export interface DefinedPart<O, P> {
  options: ZodType;
  /** The part for options already parsed by `options` (the config loader's result). */
  build(options: O): P;
  /** Parses `options` (defaults filled; errors name the part and the field), then builds. */
  create(options?: unknown): P;
  /** Registers this part: the plugin a one-part file is. */
  register(registry: Registry): void;
}
