export * from './rng.js';
export * from './schedule.js';
export * from './adamw.js';
export * from './clip.js';
