import { z } from 'zod';
import type { Registry } from '../plugin/registry.js';
import { studentCrossEntropy, teacherCrossEntropy } from './cross-entropy.js';
import { codiLoss, type CodiOptions } from './codi.js';
import { kvLoss, type KvOptions } from './kv.js';

const distance = z.enum(['smooth-l1', 'l1', 'mse']);

/** Registers the four loss terms of KAVA-METHOD.md §4. */
export function registerLosses(registry: Registry): void {
  registry.loss({
    name: 'teacher-ce',
    description: 'Cross-entropy of the teacher on the written CoT and the answer (question masked)',
    create: () => teacherCrossEntropy,
  });
  registry.loss({
    name: 'student-ce',
    description: 'Cross-entropy of the student on the answer after the latent tokens',
    create: () => studentCrossEntropy,
  });
  registry.loss({
    name: 'codi',
    description: 'Hidden-state distillation at the token before the answer, every layer (CODI)',
    options: z.strictObject({
      layerwiseStd: z.boolean().default(true).describe("divide each layer's distance by the teacher's std in that layer"),
      type: distance.default('smooth-l1').describe('distance: smooth-l1, l1 or mse'),
    }),
    create: (options) => codiLoss(options as unknown as CodiOptions),
  });
  registry.loss({
    name: 'kv',
    description: "Match the student's latent K/V to the teacher's compressed K/V (KaVa)",
    options: z.strictObject({
      type: distance.default('smooth-l1').describe('distance: smooth-l1, l1 or mse'),
      layerwiseStd: z.boolean().default(true).describe("divide each layer's residual by the teacher's std in that layer"),
    }),
    create: (options) => kvLoss(options as unknown as KvOptions),
  });
}
