// The eviction module: the top-k evictor, helpers for writing scorers, and the baselines.
export * from './scorer-kit.js';
export { compressCache, createCompression, type Compression, type CompressOptions } from './compress.js';
export { windowQueryCount } from './scorer-input.js';
export { defineScorer, type ScorerDefinition, type DefinedScorer } from './define-scorer.js';
export { createAttentionScorer } from './scorers/attention.js';
export { createRandomScorer, randomScorer } from './scorers/random.js';
export { createFirstScorer } from './scorers/first.js';
export { createUniformScorer } from './scorers/uniform.js';
export { createRecentScorer, recentScorer } from './scorers/recent.js';
export { createKnormScorer } from './scorers/knorm.js';
export { registerCompression } from './register.js';
