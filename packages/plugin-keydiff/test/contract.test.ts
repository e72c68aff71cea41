// KeyDiff against the scorer contract kit (@kava/core/testing).
import { initBackend } from '@kava/core';
import { scorerContractCases } from '@kava/core/testing';
import { keydiffScorer } from '@kava/plugin-keydiff';

describe.each(['cpu', 'wasm'] as const)('keydiff on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  for (const c of scorerContractCases(() => keydiffScorer.create({}))) test(c.title, () => c.run());
});
