// Budgets per layer (pyramid) and per head (adakv): the counts worked by hand, the top-k evictor
// keeping each head's own count with a mask per layer and head, the KV loss reading that mask,
// and both selected by config alone in a training run.
import { evictTopK, initBackend, tf } from '@kava/core';
import { kvLoss, train, type KavaPlugin, type LossInputs } from '@kava/core/internal';
import { adakvBudgets, createAdakvEvictor, createPyramidEvictor, pyramidBudgets } from '@kava/plugin-presses';
import { makeInput, type Arr5 } from '../../kava-core/test/compression-fixtures.js';
import { microConfig } from '../../kava-core/test/train-helpers.js';

/** Keys [1, L, 1, N, 1] whose value is the token index + 1, so a kept key names its token. */
const indexKeys = (L: number, N: number): Arr5 => [
  Array.from({ length: L }, () => [Array.from({ length: N }, (_, i) => [i + 1])]),
];

describe.each(['cpu', 'wasm'] as const)('budget-allocating evictors on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('pyramid budgets fall linearly from M to top·M', () => {
    expect(pyramidBudgets(4, 8, 0.25)).toEqual([8, 6, 4, 2]);
    expect(pyramidBudgets(3, 5, 0.5)).toEqual([5, 4, 3]); // 5, 3.75, 2.5 rounded
    expect(pyramidBudgets(1, 6, 0.5)).toEqual([6]);
    expect(pyramidBudgets(2, 1, 0.1)).toEqual([1, 1]); // never below one token
  });

  test('the pyramid keeps each layer its own count, by score, in position order; a mask per layer and head', () => {
    // Two layers, scores favour early tokens in layer 0 and late ones in layer 1; budgets 3 and 1 (top 1/3).
    const input = makeInput({ keys: indexKeys(2, 4), mask: [[1, 1, 1, 1]], budget: 3 });
    const scores = tf.tensor4d([[[[4, 3, 2, 1]], [[1, 2, 3, 4]]]]);
    const kept = createPyramidEvictor({ top: 1 / 3 }).evict(input, scores, 3);
    expect(kept.indices.arraySync()).toEqual([[[[0, 1, 2]], [[3, 0, 0]]]]);
    expect(kept.headSlotMask!.arraySync()).toEqual([[[[1, 1, 1]], [[1, 0, 0]]]]);
    expect(kept.slotMask.arraySync()).toEqual([[1, 1, 1]]);
    // Kept keys are the tokens' (index + 1); empty slots hold zeros.
    expect(kept.keys.reshape([2, 3]).arraySync()).toEqual([
      [1, 2, 3],
      [4, 0, 0],
    ]);
    tf.dispose([scores, kept.keys, kept.values, kept.indices, kept.slotMask, kept.headSlotMask!]);
    input.dispose();
  });

  test('a CoT shorter than a head budget fills what it has', () => {
    const input = makeInput({ keys: indexKeys(2, 4), mask: [[1, 1, 0, 0]], budget: 3 });
    const scores = tf.tensor4d([[[[4, 3, 2, 1]], [[1, 2, 3, 4]]]]);
    const kept = createPyramidEvictor({ top: 1 / 3 }).evict(input, scores, 3);
    expect(kept.headSlotMask!.arraySync()).toEqual([[[[1, 1, 0]], [[1, 0, 0]]]]);
    expect(kept.indices.arraySync()).toEqual([[[[0, 1, 0]], [[1, 0, 0]]]]); // padding never kept
    tf.dispose([scores, kept.keys, kept.values, kept.indices, kept.slotMask, kept.headSlotMask!]);
    input.dispose();
  });

  test('adakv divides a layer total among its heads by score, with the floor and the cap M', () => {
    // One layer, two KV heads, M = 2, share 0.75: the layer keeps ⌊0.75·2·2⌋ = 3 in all.
    const input = makeInput({
      keys: [[[0, 1].map(() => [0, 1, 2, 3].map((i) => [i + 1]))]],
      mask: [[1, 1, 1, 1]],
      budget: 2,
    });
    const scores = tf.tensor4d([
      [
        [
          [0.9, 0.8, 0.7, 0.6],
          [0.05, 0.04, 0.03, 0.02],
        ],
      ],
    ]);
    // No floor: the three best are all head 0's, capped at M = 2; head 1 keeps nothing.
    const bare = adakvBudgets(input, scores, 2, 0.75, 0);
    expect(bare.arraySync()).toEqual([[[2, 0]]]);
    // Floor 1: each head first keeps ⌊1·3/2⌋ = 1 (0.9 and 0.05); the last one goes to 0.8 (head 0).
    const floored = adakvBudgets(input, scores, 2, 0.75, 1);
    expect(floored.arraySync()).toEqual([[[2, 1]]]);
    const kept = createAdakvEvictor({ share: 0.75, floor: 1 }).evict(input, scores, 2);
    expect(kept.indices.arraySync()).toEqual([
      [
        [
          [0, 1],
          [0, 0],
        ],
      ],
    ]);
    expect(kept.headSlotMask!.arraySync()).toEqual([
      [
        [
          [1, 1],
          [1, 0],
        ],
      ],
    ]);
    tf.dispose([scores, bare, floored, kept.keys, kept.values, kept.indices, kept.slotMask, kept.headSlotMask!]);
    input.dispose();
  });

  test('an input whose heads hold different entries: a head never keeps one it does not hold', () => {
    // One layer, two heads, M = 2: head 0 holds tokens 0, 1, 3; head 1 holds only token 2 (a
    // decoding cache already cut per head). The best scores sit on entries the heads do not hold.
    const input = makeInput({
      keys: [[[0, 1].map(() => [0, 1, 2, 3].map((i) => [i + 1]))]],
      mask: [[1, 1, 1, 1]],
      budget: 2,
    });
    input.headMask = tf.tensor4d([
      [
        [
          [1, 1, 0, 1],
          [0, 0, 1, 0],
        ],
      ],
    ]);
    const scores = tf.tensor4d([
      [
        [
          [0.1, 0.2, 0.9, 0.3],
          [0.9, 0.8, 0.15, 0.7],
        ],
      ],
    ]);
    const kept = evictTopK(input, scores, 2);
    // Head 0: its best held are 3 (0.3) and 1 (0.2), in position order; head 1: token 2 alone.
    expect(kept.indices.arraySync()).toEqual([
      [
        [
          [1, 3],
          [2, 0],
        ],
      ],
    ]);
    expect(kept.headSlotMask!.arraySync()).toEqual([
      [
        [
          [1, 1],
          [1, 0],
        ],
      ],
    ]);
    expect(kept.keys.reshape([2, 2]).arraySync()).toEqual([
      [2, 4],
      [3, 0],
    ]);
    // adakv over the same input: the layer's 3 go to held entries only (head 0's 0.3 and 0.2, head 1's 0.15).
    const budgets = adakvBudgets(input, scores, 2, 0.75, 0);
    expect(budgets.arraySync()).toEqual([[[2, 1]]]);
    tf.dispose([
      scores,
      budgets,
      input.headMask,
      kept.keys,
      kept.values,
      kept.indices,
      kept.slotMask,
      kept.headSlotMask!,
    ]);
    input.dispose();
  });

  test('adakv with one token or one KV head (tfjs refuses a one-hot of depth 1)', () => {
    const one = makeInput({ keys: [[[[[1]]]]], mask: [[1]], budget: 2 });
    const scores = tf.tensor4d([[[[0.5]]]]);
    const budgets = adakvBudgets(one, scores, 2, 0.75, 0.2);
    expect(budgets.arraySync()).toEqual([[[1]]]); // ⌊0.75·1·2⌋ = 1 in all
    tf.dispose([scores, budgets]);
    one.dispose();
  });

  test('the KV loss counts each head only over its own filled slots', () => {
    const [B, L, H, M, d] = [1, 2, 2, 3, 4];
    const teacher = tf.randomNormal([B, L, H, M, d], 0, 1, 'float32', 3);
    const student = tf.randomNormal([B, L, H, M, d], 0, 1, 'float32', 4);
    const loss = (latent: tf.Tensor, headSlotMask?: tf.Tensor) =>
      kvLoss
        .create({ type: 'mse' })
        .compute({
          student: {
            logits: tf.zeros([1]),
            targets: tf.zeros([1]),
            targetMask: tf.zeros([1]),
            latentKeys: latent,
            latentValues: latent,
          },
          compressed: {
            keys: teacher,
            values: teacher,
            slotMask: tf.ones([B, M]),
            ...(headSlotMask ? { headSlotMask } : {}),
          },
        } as LossInputs)
        .dataSync()[0]!;
    // A mask that fills every slot of every head is the one-budget loss.
    expect(loss(student, tf.ones([B, L, H, M]))).toBeCloseTo(loss(student), 5);
    // What a student writes in a slot its head left empty does not count.
    const mask = tf.tensor4d([
      [
        [
          [1, 1, 0],
          [1, 0, 0],
        ],
        [
          [1, 0, 0],
          [1, 1, 1],
        ],
      ],
    ]);
    const elsewhere = tf.add(student, tf.mul(tf.sub(1, mask).expandDims(4), 100));
    expect(loss(elsewhere, mask)).toBeCloseTo(loss(student, mask), 5);
    expect(loss(elsewhere)).toBeGreaterThan(loss(student) * 10);
  });
});

describe('chosen by config alone', () => {
  test.each([
    ['pyramid', { top: 0.5 }],
    ['adakv', { share: 0.5 }],
  ])('a KaVa run with compression.evictor %s trains on its budgets', async (evictor, options) => {
    await initBackend('cpu');
    // The compression hook sees what the evictor kept: budgets per layer and head, some slots empty.
    const seen: number[] = [];
    const observer: KavaPlugin = {
      name: 'observer',
      apply(hooks) {
        hooks.compression.tap('observer', (result) => {
          seen.push(result.headSlotMask ? tf.mean(result.headSlotMask).dataSync()[0]! : 1);
          return result;
        });
      },
    };
    const { resolved } = await microConfig(
      {
        // Two layers, so the pyramid has a top layer with fewer slots than the first.
        backbone: { overrides: { numLayers: 2 } },
        train: { steps: 2 },
        compression: { scorer: 'snapkv', evictor, evictorOptions: options },
      },
      [observer],
    );
    expect(resolved.config.compression.evictorOptions).toMatchObject(options);
    const r = await train({ resolved, skipFinalEval: true });
    expect(r.steps).toBe(2);
    expect(Number.isFinite(r.losses.kv!)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    for (const filled of seen) expect(filled).toBeLessThan(1);
  });

  test('evictor options are checked by the evictor, naming it', async () => {
    await expect(microConfig({ compression: { evictor: 'pyramid', evictorOptions: { top: 2 } } })).rejects.toThrow(
      /evictor "pyramid" \(plugin @kava\/plugin-presses\).*compression\.evictorOptions\.top/,
    );
    await expect(microConfig({ compression: { evictorOptions: { top: 0.5 } } })).rejects.toThrow(
      'compression.evictorOptions: evictor "topk" takes no options, got top',
    );
  });
});
