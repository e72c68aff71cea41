import { z } from 'zod';
import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { stopGradient } from '../ops/stop-gradient.js';
import { defineLoss } from './define-loss.js';
import { DISTANCE, elementwiseDistance } from './elementwise.js';
import { shiftRotary } from '../model/rope.js';
import type { LossInputs } from '../contracts/loss.js';

type Tensor = tf.Tensor;

const KV_OPTIONS = z.strictObject({
  type: DISTANCE.default('smooth-l1').describe('distance: smooth-l1, l1 or mse'),
  layerwiseStd: z.boolean().default(true).describe("divide each layer's residual by the teacher's std in that layer"),
  keyPositions: z
    .enum(['cached', 'latent'])
    .default('cached')
    .describe(
      "teacher keys as cached, rotated at the teacher's positions (the paper's setting), or moved to the latent slots' positions first (undo RoPE at the teacher's position, apply it at the student's), so that a key the student could produce at its slot can match exactly",
    ),
});
type KvOptions = z.output<typeof KV_OPTIONS>;

/**
 * Masked mean distance between student latent K (or V) and the compressed teacher targets
 * (stop-gradient), [B, L, H_kv, M, d], over filled slots only: slotMask [B, M], or with
 * budgets per layer and head (headSlotMask [B, L, H_kv, M]) each head's own filled slots.
 */
function matchTerm(
  student: Tensor,
  teacher: Tensor,
  slotMask: Tensor,
  options: KvOptions,
  headSlotMask?: Tensor,
): Tensor {
  if (headSlotMask) return matchTermPerHead(student, teacher, headSlotMask, options);
  return tf.tidy(() => {
    const target = stopGradient(teacher);
    const [b, l, h, m, d] = target.shape as [number, number, number, number, number];
    const mask = tf.reshape(tf.cast(slotMask, 'float32'), [b, 1, 1, m, 1]);
    let dist = tf.mul(elementwiseDistance(student, target, options.type), mask);
    const count = tf.mul(tf.maximum(tf.sum(mask), 1), l * h * d);
    if (options.layerwiseStd) {
      // Teacher std per layer over its filled entries; a residual in a loud layer counts less.
      const n = tf.mul(tf.maximum(tf.sum(mask), 1), h * d);
      const mean = tf.div(tf.sum(tf.mul(target, mask), [0, 2, 3, 4], true), n);
      const variance = tf.div(tf.sum(tf.mul(tf.square(tf.sub(target, mean)), mask), [0, 2, 3, 4], true), n);
      dist = tf.div(dist, tf.add(tf.sqrt(variance), 1e-6));
    }
    return tf.div(tf.sum(dist), count);
  });
}

/**
 * matchTerm with a mask per layer and head: the same mean over filled entries (each counted once)
 * and the same per-layer teacher std, over that layer's filled entries. A separate path so runs
 * with one budget for all heads keep their exact arithmetic.
 */
function matchTermPerHead(student: Tensor, teacher: Tensor, headSlotMask: Tensor, options: KvOptions): Tensor {
  return tf.tidy(() => {
    const target = stopGradient(teacher);
    const d = target.shape[4]!;
    const mask = tf.expandDims(tf.cast(headSlotMask, 'float32'), 4); // [B, L, H_kv, M, 1]
    let dist = tf.mul(elementwiseDistance(student, target, options.type), mask);
    const count = tf.mul(tf.maximum(tf.sum(mask), 1), d);
    if (options.layerwiseStd) {
      const n = tf.mul(tf.maximum(tf.sum(mask, [0, 2, 3, 4], true), 1), d);
      const mean = tf.div(tf.sum(tf.mul(target, mask), [0, 2, 3, 4], true), n);
      const variance = tf.div(tf.sum(tf.mul(tf.square(tf.sub(target, mean)), mask), [0, 2, 3, 4], true), n);
      dist = tf.div(dist, tf.add(tf.sqrt(variance), 1e-6));
    }
    return tf.div(tf.sum(dist), count);
  });
}

/** The teacher's kept keys, moved to the latent slots' positions when `keyPositions` is "latent". */
function targetKeys(
  student: NonNullable<LossInputs['student']>,
  compressed: NonNullable<LossInputs['compressed']>,
  rope: LossInputs['rope'],
  options: KvOptions,
): Tensor {
  if (options.keyPositions === 'cached') return compressed.keys;
  if (!compressed.positions || !student.latentPositions || !rope)
    throw new KavaError(
      'loss "kv" with keyPositions "latent" needs the kept keys\' positions, the latent positions and the backbone\'s rotary settings (a trainer older than this option?)',
    );
  const [b, l, h, m] = compressed.positions.shape as [number, number, number, number];
  const shift = tf.sub(tf.reshape(student.latentPositions, [b, 1, 1, m]), compressed.positions);
  return shiftRotary(stopGradient(compressed.keys), tf.broadcastTo(shift, [b, l, h, m]), rope);
}

/** L_KV = ½ (d(K_s, sg K̃_t) + d(V_s, sg Ṽ_t)), mean over every layer, KV head, filled slot and channel. */
export const kvLoss = defineLoss({
  name: 'kv',
  description: "Match the student's latent K/V to the teacher's compressed K/V (KaVa)",
  options: KV_OPTIONS,
  needs: ['student', 'compressed'],
  compute({ student, compressed, rope }, options) {
    if (!student?.latentKeys || !student.latentValues || !compressed) {
      throw new KavaError('loss "kv" needs the student latent K/V and the compressed teacher cache');
    }
    return tf.tidy(() =>
      tf.mul(
        tf.add(
          matchTerm(
            student.latentKeys!,
            targetKeys(student, compressed, rope, options),
            compressed.slotMask,
            options,
            compressed.headSlotMask,
          ),
          matchTerm(student.latentValues!, compressed.values, compressed.slotMask, options, compressed.headSlotMask),
        ),
        0.5,
      ),
    );
  },
});
