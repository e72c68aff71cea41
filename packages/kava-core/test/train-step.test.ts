// The method's step: gradients of every loss term against finite differences, and the
// stop-gradient on teacher targets.
import {
  buildBatch,
  codiLoss,
  createCompression,
  forwardLosses,
  initBackend,
  kvLoss,
  KavaHooks,
  loadRunData,
  planFor,
  runTokenizer,
  setupModel,
  tf,
  type KavaModel,
  type StepParts,
  type TrainBatch,
  type WeightedTerm,
} from '@kava/core/internal';
import { microConfig } from './train-helpers.js';

let model: KavaModel;
let batch: TrainBatch;
let base: Omit<StepParts, 'terms'>;
let allTerms: WeightedTerm[];

beforeAll(async () => {
  await initBackend('wasm'); // wasm matches cpu (wasm-vs-cpu.test.ts) and is several times faster
  const { resolved } = await microConfig({ latent: { count: 3, iterations: 2 } });
  const { config, plugins } = resolved;
  const data = await loadRunData(config, plugins.registry, (p) => p);
  model = setupModel(config, plugins.registry, await runTokenizer(config));
  allTerms = Object.entries(config.losses).map(([name, { weight, ...options }]) => ({
    name,
    weight,
    term: plugins.registry.get('loss', name).create(options),
  }));
  const compression = createCompression(config.compression, plugins.registry);
  const plan = planFor(config, allTerms, compression);
  batch = buildBatch(data.train.slice(0, 3), model.tokenizer, model.tokens, plan, { dropLastStep: true });
  base = { backbone: model.backbone, latent: model.latent, compression, hooks: new KavaHooks() };
});
afterAll(() => {
  batch.dispose();
  model.dispose();
});

const only = (name: string): StepParts => ({
  ...base,
  terms: allTerms.filter((t) => t.name === name).map((t) => ({ ...t, weight: 1 })),
});
const lossValue = (parts: StepParts) =>
  tf.tidy(() => {
    const out = forwardLosses(parts, batch, 0, 1);
    tf.dispose(Object.values(out.terms));
    return out.total.dataSync()[0]!;
  });

/** Analytic gradient of one term w.r.t. `variable` vs central differences at its 3 largest entries. */
function checkGradient(termName: string, paramName: string): void {
  const parts = only(termName);
  const variable = model.params.get(paramName)!;
  const grad = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const out = forwardLosses(parts, batch, 0, 1);
      tf.dispose(Object.values(out.terms));
      return out.total as tf.Scalar;
    }, [variable]);
    return grads[variable.name]!;
  });
  const g = grad.dataSync() as Float32Array;
  grad.dispose();
  const largest = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
  expect(Math.abs(g[largest[0]!]!)).toBeGreaterThan(1e-5); // the term depends on this parameter
  const original = variable.dataSync().slice() as Float32Array;
  const eps = 1e-2;
  for (const i of largest) {
    const at = (delta: number) => {
      const values = original.slice();
      values[i] = values[i]! + delta;
      variable.assign(tf.tensor(values, variable.shape));
      return lossValue(parts);
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    variable.assign(tf.tensor(original, variable.shape));
    expect(Math.abs(fd - g[i]!)).toBeLessThanOrEqual(0.05 * Math.abs(g[i]!) + 1e-4);
  }
}

describe('loss gradients match finite differences (tiny model)', () => {
  // Student terms are checked on the projection (used only by the student, so the teacher's
  // targets stay fixed under the perturbation); the teacher term on the shared backbone weights.
  it('teacher-ce w.r.t. the embedding table', () => checkGradient('teacher-ce', 'backbone.0'));
  it('teacher-ce w.r.t. a decoder layer weight', () => checkGradient('teacher-ce', 'backbone.3'));
  it('student-ce w.r.t. the projection', () => checkGradient('student-ce', 'projection.fc2.weight'));
  it('codi w.r.t. the projection', () => checkGradient('codi', 'projection.fc1.weight'));
  it('kv w.r.t. the projection', () => checkGradient('kv', 'projection.norm.bias'));
});

describe('KV matching loss', () => {
  const shape = [2, 3, 2, 4, 5];
  it('is zero when the student latent K/V equal the compressed targets, positive otherwise, and ignores unfilled slots', () => {
    for (const type of ['smooth-l1', 'l1', 'mse'] as const) {
      for (const layerwiseStd of [false, true]) {
        const term = kvLoss.create({ type, layerwiseStd });
        tf.tidy(() => {
          const keys = tf.randomNormal(shape, 0, 1, 'float32', 1);
          const values = tf.randomNormal(shape, 0, 1, 'float32', 2);
          const slotMask = tf.tensor2d([
            [1, 1, 1, 0],
            [1, 1, 0, 0],
          ]);
          const compressed = { keys, values, slotMask };
          const same = term.compute({
            student: { logits: keys, targets: keys, targetMask: keys, latentKeys: keys, latentValues: values },
            compressed,
          });
          expect(same.dataSync()[0]).toBe(0);
          // Change only unfilled slots: still zero.
          const slotOnly = tf.reshape(
            tf.tensor2d([
              [0, 0, 0, 1],
              [0, 0, 1, 1],
            ]),
            [2, 1, 1, 4, 1],
          );
          const noisyUnfilled = tf.add(keys, tf.mul(slotOnly, 5));
          const masked = term.compute({
            student: { logits: keys, targets: keys, targetMask: keys, latentKeys: noisyUnfilled, latentValues: values },
            compressed,
          });
          expect(masked.dataSync()[0]).toBe(0);
          const off = term.compute({
            student: {
              logits: keys,
              targets: keys,
              targetMask: keys,
              latentKeys: tf.add(keys, 0.3),
              latentValues: values,
            },
            compressed,
          });
          expect(off.dataSync()[0]).toBeGreaterThan(0);
        });
      }
    }
  });
});

describe('teacher targets receive no gradient from the CODI and KV terms', () => {
  it('kv: gradient flows to the student K/V only', () => {
    tf.tidy(() => {
      const teacherSource = tf.variable(tf.randomNormal([1, 1, 1, 2, 3], 0, 1, 'float32', 3));
      const student = tf.variable(tf.randomNormal([1, 1, 1, 2, 3], 0, 1, 'float32', 4));
      const term = kvLoss.create({ type: 'mse', layerwiseStd: true });
      const { grads } = tf.variableGrads(() => {
        const targets = tf.mul(teacherSource, 2);
        return term.compute({
          student: {
            logits: student,
            targets: student,
            targetMask: student,
            latentKeys: student,
            latentValues: student,
          },
          compressed: { keys: targets, values: targets, slotMask: tf.ones([1, 2]) },
        }) as tf.Scalar;
      }, [teacherSource, student]);
      expect(Math.max(...Array.from(tf.abs(grads[teacherSource.name]!).dataSync()))).toBe(0);
      expect(Math.max(...Array.from(tf.abs(grads[student.name]!).dataSync()))).toBeGreaterThan(0);
      teacherSource.dispose();
      student.dispose();
    });
  });

  it('codi: gradient flows to the student hidden states only', () => {
    tf.tidy(() => {
      const teacherSource = tf.variable(tf.randomNormal([2, 4, 6], 0, 1, 'float32', 5));
      const student = tf.variable(tf.randomNormal([2, 4, 6], 0, 1, 'float32', 6));
      const term = codiLoss.create({ type: 'smooth-l1', layerwiseStd: true });
      const anchor = tf.tensor1d([2, 3], 'int32');
      const { grads } = tf.variableGrads(() => {
        const hidden = [tf.mul(teacherSource, 3), tf.sin(teacherSource)];
        return term.compute({
          teacher: { logits: student, targets: student, targetMask: student, hidden, answerAnchor: anchor },
          student: {
            logits: student,
            targets: student,
            targetMask: student,
            hidden: [student, tf.mul(student, 2)],
            answerAnchor: anchor,
          },
        }) as tf.Scalar;
      }, [teacherSource, student]);
      expect(Math.max(...Array.from(tf.abs(grads[teacherSource.name]!).dataSync()))).toBe(0);
      expect(Math.max(...Array.from(tf.abs(grads[student.name]!).dataSync()))).toBeGreaterThan(0);
      teacherSource.dispose();
      student.dispose();
    });
  });
});
