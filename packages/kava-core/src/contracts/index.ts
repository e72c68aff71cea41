export type * from './backbone.js';
export type * from './tokenizer.js';
export type * from './scorer.js';
export type * from './loss.js';
export type * from './dataset.js';
export type * from './preset.js';
export type * from './logger.js';
