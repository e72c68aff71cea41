import type { Registry } from './registry.js';
import type { KavaHooks } from './hooks.js';

/**
 * A KaVa plugin: one exported object. `register` contributes named parts (scorers, evictors,
 * backbone families, losses, dataset formats, presets); `apply` taps lifecycle hooks.
 * A package exports it as its default export (or as a named `plugin` export).
 */
export interface KavaPlugin {
  /** The npm package name (or a unique name for a local plugin); shown in errors and `kava plugins`. */
  name: string;
  /** Adds the plugin's parts (scorers, evictors, backbones, losses, datasets, presets, loggers) to the registry. */
  register?(registry: Registry): void;
  /** Taps the training and evaluation hooks. */
  apply?(hooks: KavaHooks): void;
}

/** Why `value` is not a KavaPlugin, or null when it is one. */
export function whyNotAPlugin(value: unknown): string | null {
  if (value === null || typeof value !== 'object') {
    return `expected an object { name, register?, apply? }, got ${value === null ? 'null' : typeof value}`;
  }
  const p = value as Record<string, unknown>;
  if (typeof p.name !== 'string' || p.name.length === 0) return 'expected a non-empty string "name"';
  for (const key of ['register', 'apply'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'function')
      return `"${key}" must be a function, got ${typeof p[key]}`;
  }
  if (p.register === undefined && p.apply === undefined)
    return 'expected a "register(registry)" or "apply(hooks)" function';
  return null;
}
