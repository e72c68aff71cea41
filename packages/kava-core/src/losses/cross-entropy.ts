import { KavaError } from '../errors.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import { maskedCrossEntropy } from './elementwise.js';

/** CE_teacher: next-token cross-entropy over the CoT and answer tokens (question masked). */
export const teacherCrossEntropy: LossTerm = {
  name: 'teacher-ce',
  needs: ['teacher'],
  compute({ teacher }: LossInputs) {
    if (!teacher) throw new KavaError('loss "teacher-ce" needs the teacher pass, which this method does not run');
    return maskedCrossEntropy(teacher.logits, teacher.targets, teacher.targetMask);
  },
};

/** CE_student: cross-entropy over the answer tokens after the latent thoughts. */
export const studentCrossEntropy: LossTerm = {
  name: 'student-ce',
  needs: ['student'],
  compute({ student }: LossInputs) {
    if (!student) throw new KavaError('loss "student-ce" needs the student pass, which this method does not run');
    return maskedCrossEntropy(student.logits, student.targets, student.targetMask);
  },
};
