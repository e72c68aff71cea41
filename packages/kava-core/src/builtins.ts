import type { Registry } from './plugin/registry.js';

/**
 * Parts that ship inside @kava/core itself, registered before any plugin under the owner
 * "(core)": the top-k evictor, the baseline scorers, the loss terms, the dataset formats and the
 * method and data presets.
 */
export function registerCore(registry: Registry): void {
  void registry;
}
