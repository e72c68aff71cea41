import { tf, attentionImportance, maskedSoftmax, meanCosineToOthers } from '@kava/core';
import {
  cosine,
  expectClose,
  loopImportance,
  randomArray,
  randomSource,
  type Arr2,
  type Arr4,
  type Arr5,
} from './compression-fixtures.js';

// Hand case: one layer, one KV head, a GQA group of two query heads, keys k0 = [1, 0],
// k1 = [0, 1], k2 = [1, 1] and a padding token k3 = [5, 5]. Query 0: heads [2, 0] and [0, 2];
// query 1: [1, 0] and [0, −1]; query 2 is padding and looks straight at the padding key.
//   max:  q0 logits max([2,0,2], [0,2,2])/√2 = [2,2,2]/√2 → [1/3, 1/3, 1/3]
//         q1 logits max([1,0,1], [0,−1,−1])/√2 = [1,0,1]/√2 → [0.401112, 0.197776, 0.401112]
//   mean: q0 [1,1,2]/√2 → [0.248255, 0.248255, 0.503490]; q1 [.5,−.5,0]/√2 → [0.455527, 0.224606, 0.319866]
const keys = [
  [
    [
      [
        [1, 0],
        [0, 1],
        [1, 1],
        [5, 5],
      ],
    ],
  ],
];
const queries = [
  [
    [
      [
        [2, 0],
        [1, 0],
        [0, 50],
      ],
      [
        [0, 2],
        [0, -1],
        [0, 50],
      ],
    ],
  ],
];
const mask = [[1, 1, 1, 0]];
const queryMask = [[1, 1, 0]];

function importance(reduce: 'max' | 'mean') {
  return tf.tidy(() =>
    attentionImportance({
      queries: tf.tensor(queries),
      queryMask: tf.tensor2d(queryMask),
      keys: tf.tensor(keys),
      mask: tf.tensor2d(mask),
      groupSize: 2,
      reduce,
    }).arraySync(),
  ) as Arr4;
}

test('attention importance, GQA max on the logits (hand-computed)', () => {
  expectClose(importance('max'), [[[[0.367223, 0.265555, 0.367223, 0]]]], 1e-5);
});

test('attention importance, GQA mean on the logits (hand-computed)', () => {
  expectClose(importance('mean'), [[[[0.351891, 0.236431, 0.411678, 0]]]], 1e-5);
});

test('attention importance matches a loop implementation on random GQA inputs', () => {
  const rand = randomSource(3);
  const [B, L, Hkv, G, Q, N, d] = [2, 3, 2, 3, 4, 7, 5];
  const k = randomArray([B, L, Hkv, N, d], rand) as Arr5;
  const q = randomArray([B, L, Hkv * G, Q, d], () => 3 * rand()) as Arr5;
  const m: Arr2 = [
    [1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1, 1],
  ];
  const qm: Arr2 = [
    [1, 1, 0, 0],
    [1, 1, 1, 1],
  ];
  for (const reduce of ['max', 'mean'] as const) {
    const got = tf.tidy(() =>
      attentionImportance({
        queries: tf.tensor(q),
        queryMask: tf.tensor2d(qm),
        keys: tf.tensor(k),
        mask: tf.tensor2d(m),
        groupSize: G,
        reduce,
      }).arraySync(),
    ) as Arr4;
    expectClose(got, loopImportance(q, qm, k, m, G, reduce), 1e-5);
  }
});

test('masked softmax ignores masked logits entirely and zeroes fully masked rows', () => {
  const out = tf.tidy(() =>
    maskedSoftmax(
      tf.tensor2d([
        [1, 2, 1e30],
        [3, 4, 5],
      ]),
      tf.tensor2d([
        [1, 1, 0],
        [0, 0, 0],
      ]),
    ).arraySync(),
  );
  expectClose(
    out,
    [
      [0.268941, 0.731059, 0],
      [0, 0, 0],
    ],
    1e-5,
  );
});

test('mean cosine to the other valid tokens matches the pairwise definition', () => {
  const rand = randomSource(11);
  const k = randomArray([2, 1, 2, 6, 3], rand) as Arr5;
  k[0]![0]![1]![2] = [0, 0, 0]; // a zero key has cosine 0 with everything
  const m: Arr2 = [
    [1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1],
  ];
  const got = tf.tidy(() => meanCosineToOthers(tf.tensor(k), tf.tensor2d(m)).arraySync()) as Arr4;
  k.forEach((layers, b) =>
    layers.forEach((heads, l) =>
      heads.forEach((tokens, h) => {
        const nValid = m[b]!.filter((v) => v).length;
        tokens.forEach((ki, i) => {
          if (!m[b]![i]) return;
          const expected = tokens.reduce((s, kj, j) => (j !== i && m[b]![j] ? s + cosine(ki, kj) : s), 0) / nValid;
          expect(got[b]![l]![h]![i]).toBeCloseTo(expected, 5);
        });
      }),
    ),
  );
});
