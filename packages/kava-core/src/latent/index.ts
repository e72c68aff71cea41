export * from './projection.js';
export * from './rollout.js';
export * from './strategy.js';
export * from './inspect.js';
export * from './plan.js';
