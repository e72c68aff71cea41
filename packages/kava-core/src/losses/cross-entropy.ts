import { KavaError } from '../errors.js';
import type { LossInputs } from '../contracts/loss.js';
import { defineLoss } from './define-loss.js';
import { maskedCrossEntropy } from './elementwise.js';

/** Masked next-token cross-entropy over one pass's targets; an error when the method does not run that pass. */
function passCrossEntropy(name: string, pass: 'teacher' | 'student', inputs: LossInputs) {
  const out = inputs[pass];
  if (!out) throw new KavaError(`loss "${name}" needs the ${pass} pass, which this method does not run`);
  return maskedCrossEntropy(out.logits, out.targets, out.targetMask);
}

/** CE_teacher: next-token cross-entropy over the CoT and answer tokens (question masked). */
export const teacherCrossEntropy = defineLoss({
  name: 'teacher-ce',
  description: 'Cross-entropy of the teacher on the written CoT and the answer (question masked)',
  needs: ['teacher'],
  compute: (inputs) => passCrossEntropy('teacher-ce', 'teacher', inputs),
});

/** CE_student: cross-entropy over the answer tokens after the latent thoughts. */
export const studentCrossEntropy = defineLoss({
  name: 'student-ce',
  description: 'Cross-entropy of the student on the answer after the latent tokens',
  needs: ['student'],
  compute: (inputs) => passCrossEntropy('student-ce', 'student', inputs),
});
