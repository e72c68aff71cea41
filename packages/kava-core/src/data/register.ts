import type { Registry } from '../plugin/registry.js';
import { BUILTIN_FORMATS } from './formats/index.js';

/** Registers this area's built-in parts into the registry (owner "(core)"): the dataset formats. */
export function registerData(registry: Registry): void {
  for (const format of BUILTIN_FORMATS) registry.dataset(format);
}
