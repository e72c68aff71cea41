import type { Registry } from '../plugin/registry.js';

/** Registers this area's built-in parts into the registry (owner "(core)"). */
export function registerLosses(registry: Registry): void {
  void registry;
}
