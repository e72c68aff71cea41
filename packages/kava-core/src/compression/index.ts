// The eviction module: the top-k evictor, helpers for writing scorers, and the baselines.
export { evictTopK } from './topk-evictor.js';
export { compressCache, createCompression, type Compression, type CompressOptions } from './compress.js';
export {
  groupedQueryLogits,
  cotAttention,
  attentionImportance,
  answerQueryImportance,
  type CotAttentionArgs,
} from './attention.js';
export {
  normalizeKeys,
  keyNorms,
  cosineSimilarityMatrix,
  validUnitKeySum,
  unitKeyDot,
  meanCosineToOthers,
  KEY_NORM_EPS,
} from './key-similarity.js';
export { maskedSoftmax, maskedMean, expandTokenMask, validRank, validCount } from './masked.js';
export { checkScorerInput, windowQueryCount, type CacheDims } from './scorer-input.js';
export { parseScorerOptions } from './scorer-options.js';
export { defineScorer, type ScorerDefinition, type DefinedScorer } from './define-scorer.js';
export { createAttentionScorer } from './scorers/attention.js';
export { createRandomScorer, randomScorer } from './scorers/random.js';
export { createFirstScorer } from './scorers/first.js';
export { createUniformScorer } from './scorers/uniform.js';
export { createRecentScorer, recentScorer } from './scorers/recent.js';
export { createKnormScorer } from './scorers/knorm.js';
export { registerCompression } from './register.js';
