import { tf, initBackend, loadHFBackbone } from '@kava/core/internal';
import { qwenFamily } from '@kava/plugin-backbone-qwen';
import { greedyBothWays, incrementalError, measureParity, openReference } from '../../kava-core/test/model-parity.js';

// test/fixtures/hf-tiny-qwen: written by scripts/make-hf-fixtures.py with PyTorch — q/k/v bias, tied
// embeddings, GQA (4 query heads, 2 KV heads), RoPE theta 1e6, f16 weights in one file.
describe.each(['cpu', 'wasm'] as const)('Qwen2 parity with the PyTorch reference (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('logits, hidden states, K/V (post- and pre-RoPE) and attention rows match within 1e-4', () => {
    const errors = measureParity('hf-tiny-qwen', qwenFamily);
    expect(Object.keys(errors).length).toBe(1 + 3 + 2 * 4 + 1);
    for (const [name, err] of Object.entries(errors)) {
      expect([name, err]).toEqual([name, expect.any(Number)]);
      expect(err).toBeLessThan(1e-4);
    }
  });

  test('greedy generation with the cache equals PyTorch greedy decoding and the uncached path', () => {
    const { cached, uncached, reference, passes } = greedyBothWays('hf-tiny-qwen', qwenFamily);
    expect(cached).toEqual(reference);
    expect(uncached).toEqual(reference);
    expect(passes).toBe(reference.length);
  });

  test('a continuation over the cache gives the logits of one pass over the whole padded batch', () => {
    const ref = openReference('hf-tiny-qwen');
    ref.tensors.close();
    const { backbone } = loadHFBackbone(ref.dir, [qwenFamily]);
    expect(incrementalError(backbone, ref.ids, ref.mask, 4)).toBeLessThan(1e-5);
    backbone.dispose();
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });
});
