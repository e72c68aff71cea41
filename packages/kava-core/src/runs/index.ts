export * from './load-run.js';
export * from './evaluate-run.js';
export * from './export-adapter.js';
