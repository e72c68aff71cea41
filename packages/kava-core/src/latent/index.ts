export * from './projection.js';
export * from './rollout.js';
export * from './strategy.js';
