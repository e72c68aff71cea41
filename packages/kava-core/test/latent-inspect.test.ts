// `kava infer --show-latents`: what each latent thought holds, read from the rollout itself.
import { tf, initBackend, infer, runTokenizer, setupModel, strategyFor, type KavaModel } from '@kava/core/app';
import { microConfig } from './train-helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

async function model(latent: {
  mode: 'jacobi' | 'autoregressive';
  iterations?: number;
}): Promise<{ model: KavaModel; config: Awaited<ReturnType<typeof microConfig>>['resolved']['config'] }> {
  const { resolved } = await microConfig({ latent: { count: 3, ...latent } });
  const m = setupModel(resolved.config, resolved.plugins.registry, await runTokenizer(resolved.config));
  return { model: m, config: resolved.config };
}

describe('latent inspection', () => {
  it('Jacobi: each latent read after every iteration and the final pass, with how far each iteration moved it; the answer is unchanged', async () => {
    const { model: m, config } = await model({ mode: 'jacobi', iterations: 2 });
    const question = 'Tom has 3 apples and buys 4 more. How many apples does Tom have?';
    const plain = await infer(m, question, strategyFor(m, config, 'latent'));
    const shown = await infer(m, question, strategyFor(m, config, 'latent', { topK: 2 }));
    expect(plain.latents).toBeUndefined();
    expect(shown.answerText).toBe(plain.answerText);
    expect(shown.forwardPasses).toBe(plain.forwardPasses);
    const latents = shown.latents!;
    expect(latents.map((z) => z.latent)).toEqual([1, 2, 3]);
    for (const z of latents) {
      expect(z.passes).toHaveLength(3); // T = 2 iterations, then the final pass
      expect(z.inputChange).toHaveLength(2);
      for (const p of z.passes) {
        expect(p.top).toHaveLength(2);
        expect(p.top[0]!.p).toBeGreaterThanOrEqual(p.top[1]!.p);
        expect(p.top[0]!.token).toBe(m.tokenizer.decode([p.top[0]!.id], { skipSpecialTokens: false }));
      }
    }
    // z_1 = prj(h(<bot>)) is fixed; z_2 starts as the <latent> embedding and is replaced in iteration 1.
    expect(latents[0]!.inputChange).toEqual([0, 0]);
    expect(latents[1]!.inputChange[0]).toBeGreaterThan(0);
    // T = 2 with M = 3: z_2 depends only on z_1's hidden state, so it settles after iteration 1.
    expect(latents[1]!.inputChange[1]).toBeCloseTo(0, 5);
    m.dispose();
  });

  it('autoregressive: one pass per latent, no iteration changes', async () => {
    const { model: m, config } = await model({ mode: 'autoregressive' });
    const before = tf.memory().numTensors;
    const shown = await infer(m, 'What is 2 plus 2?', strategyFor(m, config, 'latent', { topK: 1 }));
    expect(tf.memory().numTensors).toBe(before); // the recorder keeps no tensors
    expect(shown.latents!.map((z) => [z.latent, z.passes.length, z.inputChange.length])).toEqual([
      [1, 1, 0],
      [2, 1, 0],
      [3, 1, 0],
    ]);
    m.dispose();
  });
});
