import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { stopGradient } from '../ops/stop-gradient.js';
import { rowsAt } from '../ops/rows-at.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import { elementwiseDistance, type DistanceKind } from './elementwise.js';

type Tensor = tf.Tensor;

export interface CodiOptions {
  /** Divide each layer's residual by the teacher's std in that layer (CODI's normalisation). */
  layerwiseStd: boolean;
  type: DistanceKind;
}


/**
 * L_CODI: distance between teacher (stop-gradient) and student hidden states at the token just
 * before the answer, every layer, averaged over layers.
 */
export function codiLoss(options: CodiOptions): LossTerm {
  return {
    name: 'codi',
    needs: ['teacher', 'student', 'hidden'],
    compute({ teacher, student }: LossInputs) {
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
  };
}
