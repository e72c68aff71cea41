import { z } from 'zod';
import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { stopGradient } from '../ops/stop-gradient.js';
import { rowsAt } from '../ops/rows-at.js';
import { defineLoss } from './define-loss.js';
import { DISTANCE, elementwiseDistance } from './elementwise.js';

type Tensor = tf.Tensor;

/**
 * L_CODI: distance between teacher (stop-gradient) and student hidden states at the token just
 * before the answer, every layer, averaged over layers.
 */
export const codiLoss = defineLoss({
  name: 'codi',
  description: 'Hidden-state distillation at the token before the answer, every layer (CODI)',
  options: z.strictObject({
    layerwiseStd: z.boolean().default(true).describe("divide each layer's distance by the teacher's std in that layer"),
    type: DISTANCE.default('smooth-l1').describe('distance: smooth-l1, l1 or mse'),
  }),
  needs: ['teacher', 'student', 'hidden'],
  compute({ teacher, student }, options) {
    if (!teacher?.hidden || !student?.hidden || !teacher.answerAnchor || !student.answerAnchor) {
      throw new KavaError('loss "codi" needs teacher and student hidden states and answer anchors');
    }
    return tf.tidy(() => {
      const perLayer: Tensor[] = [];
      for (let l = 0; l < teacher.hidden!.length; l++) {
        const t = stopGradient(rowsAt(teacher.hidden![l]!, teacher.answerAnchor!));
        const s = rowsAt(student.hidden![l]!, student.answerAnchor!);
        let dist = tf.mean(elementwiseDistance(s, t, options.type));
        if (options.layerwiseStd) dist = tf.div(dist, tf.add(tf.sqrt(tf.moments(t).variance), 1e-6));
        perLayer.push(dist);
      }
      return tf.mean(tf.stack(perLayer));
    });
  },
});
