import type { Registry } from '../plugin/registry.js';
import { registerCompression } from '../compression/register.js';
import { registerData } from '../data/register.js';
import { registerLosses } from '../losses/register.js';
import { registerPresets } from '../presets/register.js';

/**
 * Parts that ship inside @kava/core itself, registered before any plugin under the owner
 * "(core)": the top-k evictor and baseline scorers, the dataset formats, the loss terms, and the
 * method and data presets.
 */
export function registerCore(registry: Registry): void {
  registerCompression(registry);
  registerData(registry);
  registerLosses(registry);
  registerPresets(registry);
}
