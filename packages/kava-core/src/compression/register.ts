import type { Registry } from '../plugin/registry.js';

/** Registers this area's built-in parts into the registry (owner "(core)"). */
export function registerCompression(registry: Registry): void {
  void registry;
}
