import type { Registry } from '../plugin/registry.js';
import { topKEvictor } from './topk-evictor.js';
import { attentionScorer } from './scorers/attention.js';
import { firstScorer } from './scorers/first.js';
import { knormScorer } from './scorers/knorm.js';
import { randomScorer } from './scorers/random.js';
import { recentScorer } from './scorers/recent.js';
import { uniformScorer } from './scorers/uniform.js';

/** The built-in baseline scorers, in the order `kava plugins` shows them. */
export const BASELINE_SCORERS = [attentionScorer, randomScorer, firstScorer, uniformScorer, recentScorer, knormScorer];

/** Registers this area's built-in parts into the registry (owner "(core)"). */
export function registerCompression(registry: Registry): void {
  registry.evictor({
    name: 'topk',
    description:
      'Keep the top-M scored CoT tokens per layer and KV head, ordered by position; padding only fills slots a short CoT leaves empty.',
    create: () => topKEvictor,
  });
  for (const scorer of BASELINE_SCORERS) registry.scorer(scorer);
}
