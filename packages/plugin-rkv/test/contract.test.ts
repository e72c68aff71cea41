// Both R-KV scorers against the scorer contract kit (@kava/core/testing), the same checks every
// scorer is held to: shapes, needs, padding, budgets, determinism, no tensor leaks, inputs untouched.
import { initBackend } from '@kava/core';
import { scorerContractCases } from '@kava/core/testing';
import { rkvDecodingScorer, rkvScorer } from '@kava/plugin-rkv';

const variants = [
  ['rkv (defaults)', () => rkvScorer.create({})],
  ['rkv λ = 0 (keys only)', () => rkvScorer.create({ lambda: 0 })],
  ['rkv λ = 1 (attention only)', () => rkvScorer.create({ lambda: 1 })],
  ['rkv-decoding (defaults)', () => rkvDecodingScorer.create({})],
  ['rkv-decoding window 3, kernel 3', () => rkvDecodingScorer.create({ window: 3, kernelSize: 3 })],
] as const;

describe.each(['cpu', 'wasm'] as const)('R-KV scorers on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  describe.each(variants)('%s', (_name, create) => {
    for (const c of scorerContractCases(create)) test(c.title, () => c.run());
  });
});
