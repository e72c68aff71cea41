export * from './elementwise.js';
export * from './cross-entropy.js';
export * from './codi.js';
export * from './kv.js';
export * from './define-loss.js';
