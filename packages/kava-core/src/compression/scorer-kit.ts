// What scorers and evictors are built from (part of the plugin API): the top-k evictor, the
// input check, option parsing, and the attention, key-similarity and masking helpers.
export { evictTopK, budgetedEvictor, selectionKeys } from './topk-evictor.js';
export { checkScorerInput, type CacheDims } from './scorer-input.js';
export { parseScorerOptions } from './scorer-options.js';
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
export { windowAttentionPerHead, causalWindowMask, lastValidTokens, avgPoolTokens } from './window-attention.js';
