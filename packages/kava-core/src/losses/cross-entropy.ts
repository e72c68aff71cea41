import { KavaError } from '../errors.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import { maskedCrossEntropy } from './elementwise.js';

/** Masked next-token cross-entropy over one pass's targets; an error when the method does not run that pass. */
function passCrossEntropy(name: string, pass: 'teacher' | 'student'): LossTerm {
  return {
    name,
    needs: [pass],
    compute(inputs: LossInputs) {
      const out = inputs[pass];
      if (!out) throw new KavaError(`loss "${name}" needs the ${pass} pass, which this method does not run`);
      return maskedCrossEntropy(out.logits, out.targets, out.targetMask);
    },
  };
}

/** CE_teacher: next-token cross-entropy over the CoT and answer tokens (question masked). */
export const teacherCrossEntropy: LossTerm = passCrossEntropy('teacher-ce', 'teacher');

/** CE_student: cross-entropy over the answer tokens after the latent thoughts. */
export const studentCrossEntropy: LossTerm = passCrossEntropy('student-ce', 'student');
