import { tf, z, budgetedEvictor, type Evictor } from '@kava/core';

const options = z.strictObject({
  top: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe("The top layer's budget as a share of M; the budgets fall linearly from M at the first layer."),
});

/**
 * Per-layer budgets in PyramidKV's shape (Cai et al. 2024, arXiv 2406.02069: attention funnels
 * from broad in the lower layers to a few tokens in the upper ones, so lower layers keep more):
 * layer l of L keeps M_l = round(M − (M − top·M) · l / (L − 1)) tokens per KV head, chosen by the
 * scorer as the top-k evictor chooses. The latent student has M slots in every layer, so no layer
 * can keep more than M: where PyramidKV moves budget from the upper layers to the lower, here the
 * upper layers keep fewer targets and their empty slots are left out of the KV loss.
 */
export function pyramidBudgets(layers: number, budget: number, top: number): number[] {
  if (layers === 1) return [budget];
  return Array.from({ length: layers }, (_, l) =>
    Math.max(1, Math.round(budget - (budget - top * budget) * (l / (layers - 1)))),
  );
}

export function createPyramidEvictor(raw: z.input<typeof options> = {}): Evictor {
  const { top } = options.parse(raw);
  return budgetedEvictor('pyramid', (input, _scores, budget) => {
    const [, L, Hkv] = input.keys.shape as number[] as [number, number, number];
    const perLayer = pyramidBudgets(L, budget, top);
    return tf.tensor3d([perLayer.map((m) => new Array<number>(Hkv).fill(m))], [1, L, Hkv], 'int32');
  });
}

export const pyramidEvictor = {
  name: 'pyramid',
  description:
    'PyramidKV-style budgets per layer: M tokens per head in the first layer, falling linearly to top·M in the last; the scorer picks which.',
  options,
  create: (raw: Record<string, unknown>) => createPyramidEvictor(raw),
};
