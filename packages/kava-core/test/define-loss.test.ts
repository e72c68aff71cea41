// defineLoss: a loss term is its formula; its options are parsed and defaulted once, by the schema.
import { tf, z, initBackend, defineLoss, activeTerms, resolveConfig, type LossInputs } from '@kava/core/internal';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { tempProject } from './helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

let parses = 0;
const scaledCe = defineLoss({
  name: 'scaled-answer-ce',
  description: 'test: the student answer logits summed, times a factor',
  options: z.strictObject({ factor: z.number().positive().default(2) }).transform((o) => {
    parses += 1;
    return o;
  }),
  needs: ['student'],
  compute: ({ student }, { factor }) => tf.mul(tf.sum(student!.logits), factor),
});

const inputs = (): LossInputs => {
  const logits = tf.tensor3d([
    [
      [1, 2],
      [3, 4],
    ],
  ]);
  return { student: { logits, targets: tf.zeros([1, 2], 'int32'), targetMask: tf.ones([1, 2]) } };
};

test('the formula gets the options typed and defaulted; the term carries the name and needs', () => {
  const term = scaledCe.create();
  expect(term.name).toBe('scaled-answer-ce');
  expect(term.needs).toEqual(['student']);
  const i = inputs();
  expect(term.compute(i).dataSync()[0]).toBe(20); // (1+2+3+4) times the default 2
  expect(scaledCe.create({ factor: 0.5 }).compute(i).dataSync()[0]).toBe(5);
  tf.dispose([i.student!.logits, i.student!.targets, i.student!.targetMask]);
});

test('create parses raw options, naming the loss and the losses.<name> field', () => {
  expect(() => scaledCe.create({ factor: -1 })).toThrow(/loss "scaled-answer-ce": losses\.scaled-answer-ce\.factor/);
  expect(() => scaledCe.create({ facter: 1 })).toThrow(/losses\.scaled-answer-ce\.facter: unknown key/);
});

test('through the config the options are parsed once: resolveConfig parses, the trainer builds', async () => {
  const plugin = { name: 'scaled-ce-plugin', register: scaledCe.register };
  const { config, plugins } = await resolveConfig({
    cwd: tempProject(),
    presets: ['tiny-llama'],
    builtinPlugins: BUILTIN_PLUGINS,
    extraPlugins: [plugin],
    overrides: { losses: { 'scaled-answer-ce': { weight: 0.5, factor: 3 } } },
  });
  expect(plugins.registry.get('loss', 'scaled-answer-ce').plugin).toBe('scaled-ce-plugin');
  expect(config.losses['scaled-answer-ce']).toEqual({ weight: 0.5, factor: 3 });
  parses = 0;
  const term = activeTerms(config, plugins.registry).find((t) => t.name === 'scaled-answer-ce')!;
  expect(term.weight).toBe(0.5);
  expect(parses).toBe(0);
  const i = inputs();
  expect(term.term.compute(i).dataSync()[0]).toBe(30);
  tf.dispose([i.student!.logits, i.student!.targets, i.student!.targetMask]);
});
