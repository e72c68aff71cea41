import type { KavaPlugin } from '@kava/core';
import { expectedAttentionScorer } from './expected-attention.js';
import { h2oScorer } from './h2o.js';
import { snapkvScorer } from './snapkv.js';
import { tovaScorer } from './tova.js';
import { pyramidEvictor } from './pyramid-evictor.js';
import { adakvEvictor } from './adakv-evictor.js';

export { createSnapkvScorer, snapkvScorer } from './snapkv.js';
export { createH2oScorer, h2oScorer } from './h2o.js';
export { createTovaScorer, tovaScorer } from './tova.js';
export { createExpectedAttentionScorer, expectedAttentionScorer } from './expected-attention.js';
export { createPyramidEvictor, pyramidBudgets, pyramidEvictor } from './pyramid-evictor.js';
export { adakvBudgets, createAdakvEvictor, adakvEvictor } from './adakv-evictor.js';

/**
 * The presses of the KV-compression field, one file each: the scorers SnapKV, H2O, TOVA and
 * Expected Attention (StreamingLLM is core's `recent` scorer: sink tokens plus the most recent),
 * and the budget allocations PyramidKV (per layer) and AdaKV (per head) as evictors.
 */
const plugin: KavaPlugin = {
  name: '@kava/plugin-presses',
  register(registry) {
    for (const scorer of [snapkvScorer, h2oScorer, tovaScorer, expectedAttentionScorer]) registry.scorer(scorer);
    registry.evictor(pyramidEvictor);
    registry.evictor(adakvEvictor);
  },
};
export default plugin;
