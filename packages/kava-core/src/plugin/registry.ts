import 'reflect-metadata';
import { Container } from 'inversify';
import type { ZodType } from 'zod';
import { ConfigError, PluginError } from '../errors.js';
import type { BackboneFamily, BackbonePreset } from '../contracts/backbone.js';
import type { Evictor, KVScorer } from '../contracts/scorer.js';
import type { LossTerm } from '../contracts/loss.js';
import type { DatasetFormat } from '../contracts/dataset.js';
import type { PresetDefinition } from '../config/presets.js';

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
  create(options: Record<string, unknown>): KVScorer;
  build?(options: Record<string, unknown>): KVScorer;
}
export interface EvictorRegistration extends Named {
  create(options: Record<string, unknown>): Evictor;
}
/** A loss term: `options` validates `losses.<name>` (minus `weight`). */
export interface LossRegistration extends Named {
  options?: ZodType;
  create(options: Record<string, unknown>): LossTerm;
}
/** A backbone family; `presets` maps backbone preset names (tiny-llama, llama-1b...) to architectures. */
export type BackboneRegistration = Named & { family: BackboneFamily; presets?: Record<string, BackbonePreset> };
export type DatasetRegistration = DatasetFormat;
export type PresetRegistration = PresetDefinition;

/** The kinds of parts and their registration shapes. */
export interface RegistrationKinds {
  scorer: ScorerRegistration;
  evictor: EvictorRegistration;
  backbone: BackboneRegistration;
  loss: LossRegistration;
  dataset: DatasetRegistration;
  preset: PresetRegistration;
}
export type Kind = keyof RegistrationKinds;
export const KINDS: readonly Kind[] = ['scorer', 'evictor', 'backbone', 'loss', 'dataset', 'preset'];

/** One registered part with the plugin that registered it. */
export type Registered<K extends Kind> = RegistrationKinds[K] & { plugin: string };

const SERVICE: { [K in Kind]: symbol } = {
  scorer: Symbol.for('kava.scorer'),
  evictor: Symbol.for('kava.evictor'),
  backbone: Symbol.for('kava.backbone'),
  loss: Symbol.for('kava.loss'),
  dataset: Symbol.for('kava.dataset'),
  preset: Symbol.for('kava.preset'),
};

/**
 * Named parts contributed by plugins, bound in an inversify container under one service id per
 * kind and the part's name. Names are unique per kind across all plugins.
 */
export class Registry {
  readonly container = new Container();
  private readonly owners = new Map<string, string>();
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

  scorer(reg: ScorerRegistration): void { this.add('scorer', reg.name, reg); }
  evictor(reg: EvictorRegistration): void { this.add('evictor', reg.name, reg); }
  backbone(reg: BackboneRegistration): void { this.add('backbone', reg.name, reg); }
  loss(reg: LossRegistration): void { this.add('loss', reg.name, reg); }
  dataset(reg: DatasetRegistration): void { this.add('dataset', reg.name, reg); }
  preset(reg: PresetRegistration): void { this.add('preset', reg.name, reg); }

  private add<K extends Kind>(kind: K, name: string, reg: RegistrationKinds[K]): void {
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
      throw new PluginError(this.currentPlugin, `${kind} name ${JSON.stringify(name)} is invalid (letters, digits, ".", "_", "-")`);
    }
    const key = `${kind}:${name}`;
    const owner = this.owners.get(key);
    if (owner !== undefined) {
      throw new PluginError(this.currentPlugin, `${kind} "${name}" is already registered by plugin "${owner}"`);
    }
    this.owners.set(key, this.currentPlugin);
    const entry: Registered<K> = { ...reg, plugin: this.currentPlugin };
    this.container.bind<Registered<K>>(SERVICE[kind]).toConstantValue(entry).whenNamed(name);
  }

  has(kind: Kind, name: string): boolean {
    return this.owners.has(`${kind}:${name}`);
  }

  /** The part named `name`, or a ConfigError naming `field` and listing what exists. */
  get<K extends Kind>(kind: K, name: string, field: string = kind): Registered<K> {
    if (!this.has(kind, name)) {
      const known = this.names(kind);
      throw new ConfigError(
        `${field}: no loaded plugin provides a ${kind} named "${name}". ` +
          (known.length ? `Available: ${known.join(', ')}.` : `No ${kind}s are registered.`) +
          ' Add the plugin that provides it to "plugins" in your config.',
      );
    }
    return this.container.get<Registered<K>>(SERVICE[kind], { name });
  }

  /** Every registered part of a kind, sorted by name. */
  list<K extends Kind>(kind: K): Registered<K>[] {
    return this.names(kind).map((name) => this.container.get<Registered<K>>(SERVICE[kind], { name }));
  }

  names(kind: Kind): string[] {
    const prefix = `${kind}:`;
    return [...this.owners.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
  }

  /** Names of parts registered by `plugin`, per kind. */
  contributions(plugin: string): Partial<Record<Kind, string[]>> {
    const out: Partial<Record<Kind, string[]>> = {};
    for (const [key, owner] of this.owners) {
      if (owner !== plugin) continue;
      const [kind, name] = key.split(/:(.*)/s) as [Kind, string];
      (out[kind] ??= []).push(name);
    }
    return out;
  }
}
