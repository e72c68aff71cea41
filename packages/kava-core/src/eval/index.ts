export * from './answer.js';
export * from './cached-batch.js';
export * from './strategy.js';
export * from './text-strategies.js';
export * from './evaluate.js';
export { checkTraceBudget, compressTrace, type TraceBudget } from './trace-compression.js';
