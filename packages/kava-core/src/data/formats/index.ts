import type { DatasetFormat } from '../../contracts/dataset.js';
import { gsm8kAugFormat } from './gsm8k-aug.js';
import { gsm8kFormat } from './gsm8k.js';
import { icotFormat } from './icot.js';
import { gsm8kHardFormat, svampFormat } from './eval-only.js';
import { syntheticFormat } from '../synthetic/format.js';

export { gsm8kAugFormat, gsm8kFormat, icotFormat, gsm8kHardFormat, svampFormat, syntheticFormat };

/** The dataset formats that ship with core. */
export const BUILTIN_FORMATS: readonly DatasetFormat[] = [
  gsm8kAugFormat,
  gsm8kFormat,
  icotFormat,
  gsm8kHardFormat,
  svampFormat,
  syntheticFormat,
];
