export * from './cpu-budget.js';
