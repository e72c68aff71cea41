import type { Registry } from '../plugin/registry.js';
import { studentCrossEntropy, teacherCrossEntropy } from './cross-entropy.js';
import { codiLoss } from './codi.js';
import { kvLoss } from './kv.js';

/** Registers the four loss terms of KAVA-METHOD.md §4. */
export function registerLosses(registry: Registry): void {
  for (const loss of [teacherCrossEntropy, studentCrossEntropy, codiLoss, kvLoss]) loss.register(registry);
}
