import type { KavaPlugin } from '@kava/core';
import { rkvScorer } from './rkv.js';
import { rkvDecodingScorer } from './rkv-decoding.js';

export { createRkvScorer, rkvScorer } from './rkv.js';
export {
  createRkvDecodingScorer,
  rkvDecodingScorer,
  newestDuplicateRedundancy,
  type RkvDecodingOptions,
} from './rkv-decoding.js';

/** R-KV scorers: `rkv` (KaVa's variant, the default scorer) and `rkv-decoding` (the original). */
const plugin: KavaPlugin = {
  name: '@kava/plugin-rkv',
  register(registry) {
    registry.scorer(rkvScorer);
    registry.scorer(rkvDecodingScorer);
  },
};
export default plugin;
