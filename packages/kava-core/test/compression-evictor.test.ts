import { tf, initBackend, evictTopK, type ScorerInput } from '@kava/core';

// Keys/values that name their own (example, layer, head, token), so a gathered slot says which
// token it came from: key = [b, l, h, i + 1] scaled, value = −key.
function cache(B: number, L: number, H: number, N: number) {
  const k: number[] = [];
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < N; i++) {
          k.push(1000 * b + 100 * l + 10 * h + i + 1, -(1000 * b + 100 * l + 10 * h + i + 1));
        }
  const keys = tf.tensor5d(k, [B, L, H, N, 2]);
  return { keys, values: tf.neg(keys) };
}

function input(B: number, L: number, H: number, mask: number[][], budget: number): ScorerInput {
  const N = mask[0]!.length;
  const { keys, values } = cache(B, L, H, N);
  return {
    keys,
    values,
    mask: tf.tensor2d(mask),
    budget,
    groupSize: 1,
    seed: 0,
    positions: tf.tensor2d(
      mask.map((row) => row.map((_, i) => 10 + i)),
      [B, N],
      'int32',
    ),
  };
}

/** Independent reference: per (b, l, h) sort valid tokens by score (desc, earlier first on ties). */
function referenceKeep(scores: number[][][][], mask: number[][], M: number, protect?: number[][]): number[][][][] {
  return scores.map((layers, b) =>
    layers.map((heads) =>
      heads.map((row) => {
        const valid = row.map((_, i) => i).filter((i) => mask[b]![i] === 1);
        const rank = (i: number) => (protect?.[b]![i] ? 1 : 0);
        const clean = (v: number) => (Number.isNaN(v) ? -1e38 : Math.max(-1e38, Math.min(1e38, v)));
        valid.sort((a, c) => rank(c) - rank(a) || clean(row[c]!) - clean(row[a]!) || a - c);
        const kept = valid.slice(0, M).sort((a, c) => a - c);
        while (kept.length < M) kept.push(0);
        return kept;
      }),
    ),
  );
}

describe.each(['cpu', 'wasm'] as const)('topk evictor on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('hand-computed case: top M per head, sorted by position, padding never kept', () => {
    const inp = input(
      2,
      1,
      2,
      [
        [1, 1, 1, 1, 0],
        [1, 1, 0, 0, 0],
      ],
      3,
    );
    const scores = tf.tensor4d([
      [
        [
          [0.5, 0.1, 0.9, 0.3, 5.0],
          [1, 1, 1, 2, 9],
        ],
      ],
      [
        [
          [3, 7, 100, 100, 100],
          [-1, -2, 50, 50, 50],
        ],
      ],
    ]);
    const out = evictTopK(inp, scores, 3);
    // Example 0: head 0 keeps 0.9, 0.5, 0.3 → tokens 2, 0, 3; head 1 keeps token 3 then ties 0, 1.
    // Example 1: only two valid tokens; the third slot is unfilled (index 0, zero K/V, mask 0).
    expect(out.indices.arraySync()).toEqual([
      [
        [
          [0, 2, 3],
          [0, 1, 3],
        ],
      ],
      [
        [
          [0, 1, 0],
          [0, 1, 0],
        ],
      ],
    ]);
    expect(out.slotMask.arraySync()).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    expect(out.keys.shape).toEqual([2, 1, 2, 3, 2]);
    const k = out.keys.arraySync() as number[][][][][];
    expect(k[0]![0]![1]!.map((kv) => kv[0])).toEqual([11, 12, 14]);
    expect(k[1]![0]![0]!).toEqual([
      [1001, -1001],
      [1002, -1002],
      [0, 0],
    ]);
    expect((out.values.arraySync() as number[][][][][])[0]![0]![0]![2]).toEqual([-4, 4]);
    tf.dispose([
      inp.keys,
      inp.values,
      inp.mask,
      inp.positions,
      scores,
      out.keys,
      out.values,
      out.indices,
      out.slotMask,
    ]);
  });

  test('protected tokens are kept first; NaN and −∞ scores still beat padding', () => {
    const inp = input(1, 1, 2, [[1, 1, 1, 1, 0]], 3);
    const scores = tf.tensor4d([
      [
        [
          [0.5, 0.1, 0.9, 0.3, 5.0],
          [NaN, -Infinity, 0, 1, Infinity],
        ],
      ],
    ]);
    const protect = tf.tensor2d([[0, 1, 0, 0, 1]]); // protecting padding has no effect
    const out = evictTopK(inp, scores, 3, protect);
    expect(out.indices.arraySync()).toEqual([
      [
        [
          [0, 1, 2],
          [1, 2, 3],
        ],
      ],
    ]);
    const plain = evictTopK(inp, scores, 3);
    // Head 1 without protection: 1 (token 3), 0 (token 2), then NaN (token 0) and −∞ (token 1)
    // both count as the lowest score; the earlier one wins. Padding (token 4, +∞) never.
    expect(plain.indices.arraySync()).toEqual([
      [
        [
          [0, 2, 3],
          [0, 2, 3],
        ],
      ],
    ]);
    tf.dispose([
      inp.keys,
      inp.values,
      inp.mask,
      inp.positions,
      scores,
      protect,
      out.keys,
      out.values,
      out.indices,
      out.slotMask,
      plain.keys,
      plain.values,
      plain.indices,
      plain.slotMask,
    ]);
  });

  test('a budget larger than the padded CoT leaves the extra slots masked', () => {
    const inp = input(1, 1, 1, [[1, 1, 1]], 5);
    const scores = tf.tensor4d([[[[3, 1, 2]]]]);
    const out = evictTopK(inp, scores, 5);
    expect(out.indices.arraySync()).toEqual([[[[0, 1, 2, 0, 0]]]]);
    expect(out.slotMask.arraySync()).toEqual([[1, 1, 1, 0, 0]]);
    expect((out.keys.arraySync() as number[][][][][])[0]![0]![0]![4]).toEqual([0, 0]);
    tf.dispose([
      inp.keys,
      inp.values,
      inp.mask,
      inp.positions,
      scores,
      out.keys,
      out.values,
      out.indices,
      out.slotMask,
    ]);
  });

  test('random scores and masks: matches an independent sort, indices sorted, padding only in unfilled slots', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 6; trial++) {
      const [B, L, H, N, M] = [3, 2, 3, 9, 1 + trial];
      const mask = Array.from({ length: B }, (_, b) => Array.from({ length: N }, (_, i) => (i < 2 + 3 * b ? 1 : 0)));
      const raw = Array.from({ length: B }, () =>
        Array.from({ length: L }, () =>
          Array.from({ length: H }, () => Array.from({ length: N }, () => Math.round(rand() * 6) / 2)),
        ),
      ); // coarse values: ties happen
      const protect = trial % 2 ? mask.map((row) => row.map(() => (rand() < 0.2 ? 1 : 0))) : undefined;
      const inp = input(B, L, H, mask, M);
      const scores = tf.tensor4d(raw);
      const protectT = protect ? tf.tensor2d(protect) : undefined;
      const out = evictTopK(inp, scores, M, protectT);
      const got = out.indices.arraySync() as number[][][][];
      expect(got).toEqual(referenceKeep(raw, mask, M, protect));
      const slots = out.slotMask.arraySync() as number[][];
      got.forEach((layers, b) =>
        layers.forEach((heads) =>
          heads.forEach((row) => {
            const filled = row.filter((_, j) => slots[b]![j] === 1);
            expect(filled.every((i) => mask[b]![i] === 1)).toBe(true);
            expect(filled).toEqual([...filled].sort((a, c) => a - c));
            expect(new Set(filled).size).toBe(filled.length);
            expect(filled.length).toBe(Math.min(M, mask[b]!.filter((v) => v === 1).length));
          }),
        ),
      );
      tf.dispose([
        inp.keys,
        inp.values,
        inp.mask,
        inp.positions,
        scores,
        out.keys,
        out.values,
        out.indices,
        out.slotMask,
      ]);
      protectT?.dispose();
    }
  });

  test('leaves no tensors behind', () => {
    const inp = input(1, 2, 2, [[1, 1, 1, 0]], 2);
    const scores = tf.randomUniform([1, 2, 2, 4]);
    const before = tf.memory().numTensors;
    const out = evictTopK(inp, scores, 2);
    expect(tf.memory().numTensors).toBe(before + 4);
    tf.dispose([
      inp.keys,
      inp.values,
      inp.mask,
      inp.positions,
      scores,
      out.keys,
      out.values,
      out.indices,
      out.slotMask,
    ]);
  });

  test('bad input gets a clear error', () => {
    const inp = input(1, 1, 1, [[1, 1, 1]], 2);
    expect(() => evictTopK(inp, tf.zeros([1, 1, 1, 4]), 2)).toThrow(
      /scores must be \[B, L, H_kv, N\] = \[1,1,1,3\], got \[1,1,1,4\]/,
    );
    expect(() => evictTopK(inp, tf.zeros([1, 1, 1, 3]), 0)).toThrow(/budget must be a positive integer/);
    expect(() => evictTopK(inp, tf.zeros([1, 1, 1, 3]), 3)).toThrow(
      /budget 3 differs from the scorer input's budget 2/,
    );
  });
});
