import type { KavaPlugin } from '@kava/core';
import { expectedAttentionScorer } from './expected-attention.js';
import { h2oScorer } from './h2o.js';
import { snapkvScorer } from './snapkv.js';
import { tovaScorer } from './tova.js';

export { createSnapkvScorer, snapkvScorer } from './snapkv.js';
export { createH2oScorer, h2oScorer } from './h2o.js';
export { createTovaScorer, tovaScorer } from './tova.js';
export { createExpectedAttentionScorer, expectedAttentionScorer } from './expected-attention.js';

/**
 * The presses of the KV-compression field as KaVa scorers, one file each: SnapKV, H2O, TOVA and
 * Expected Attention. (StreamingLLM is core's `recent` scorer: sink tokens plus the most recent.)
 */
const plugin: KavaPlugin = {
  name: '@kava/plugin-presses',
  register(registry) {
    for (const scorer of [snapkvScorer, h2oScorer, tovaScorer, expectedAttentionScorer]) registry.scorer(scorer);
  },
};
export default plugin;
