import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import { stopGradient } from '../ops/stop-gradient.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import { elementwiseDistance, type DistanceKind } from './elementwise.js';

type Tensor = tf.Tensor;

export interface CodiOptions {
  /** Divide each layer's residual by the teacher's std in that layer (CODI's normalisation). */
  layerwiseStd: boolean;
  type: DistanceKind;
}

/** Rows `index` [B] of `hidden` [B, S, D] -> [B, D]. */
function atIndex(hidden: Tensor, index: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, s, d] = hidden.shape as [number, number, number];
    const flat = tf.add(tf.mul(tf.range(0, b, 1, 'int32'), s), tf.cast(index, 'int32'));
    return tf.gather(hidden.reshape([b * s, d]), flat);
  });
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
          const t = stopGradient(atIndex(teacher.hidden![l]!, teacher.answerAnchor!));
          const s = atIndex(student.hidden![l]!, student.answerAnchor!);
          let dist = tf.mean(elementwiseDistance(s, t, options.type));
          if (options.layerwiseStd) dist = tf.div(dist, tf.add(tf.sqrt(tf.moments(t).variance), 1e-6));
          perLayer.push(dist);
        }
        return tf.mean(tf.stack(perLayer));
      });
    },
  };
}
