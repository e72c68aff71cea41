export * from './hf-tokenizer.js';
export * from './word-level.js';
