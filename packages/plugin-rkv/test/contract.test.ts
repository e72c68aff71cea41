// The R-KV scorers' other option settings against the scorer contract kit (@kava/core/testing):
// shapes, needs, padding, budgets, determinism, no tensor leaks, inputs untouched. Their defaults
// are checked with every registered scorer in packages/kava-core/test/scorer-contract.test.ts.
import { initBackend } from '@kava/core';
import { scorerContractCases } from '@kava/core/testing';
import { rkvDecodingScorer, rkvScorer } from '@kava/plugin-rkv';

const variants = [
  ['rkv λ = 0 (keys only)', () => rkvScorer.create({ lambda: 0 })],
  ['rkv λ = 1 (attention only)', () => rkvScorer.create({ lambda: 1 })],
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
