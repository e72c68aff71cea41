import type { KavaPlugin } from '@kava/core';
import { keydiffScorer } from './keydiff.js';

export { createKeyDiffScorer, keydiffScorer } from './keydiff.js';

/** The KeyDiff scorer. */
const plugin: KavaPlugin = {
  name: '@kava/plugin-keydiff',
  register(registry) {
    registry.scorer(keydiffScorer);
  },
};
export default plugin;
