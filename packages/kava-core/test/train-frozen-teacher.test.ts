// train.teacher: "frozen" (the issue 16 ablation): the teacher pass runs on an untrained copy of
// the model directory, so on a repeated input it gives the same outputs at every step, while the
// shared teacher (the paper's setup) changes with the weights it trains.
import { join } from 'node:path';
import { initBackend, tf, train, type KavaConfigInput, type KavaPlugin } from '@kava/core/app';
import { REPO } from './helpers.js';
import { microConfig } from './train-helpers.js';

const LLAMA = join(REPO, 'test/fixtures/hf-tiny-llama');

// One training example, seen at every step: the teacher's input is the same each time.
const RUN = (teacher: 'shared' | 'frozen'): KavaConfigInput => ({
  backbone: { modelDir: LLAMA, overrides: {} },
  data: { limit: 1 },
  train: { steps: 3, batchSize: 1, microBatchSize: 1, lr: 5e-2, checkpointEvery: 0, teacher },
});

/** The teacher's logits (sum of squares) at each step, read in the teacherForward hook. */
function recorder(): { plugin: KavaPlugin; seen: number[] } {
  const seen: number[] = [];
  const plugin: KavaPlugin = {
    name: 'teacher-recorder',
    apply: (h) =>
      h.teacherForward.tap('rec', ({ result }) => {
        seen.push(tf.tidy(() => tf.sum(tf.square(result.logits!)).dataSync()[0]!));
      }),
  };
  return { plugin, seen };
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('a frozen teacher', () => {
  it('keeps the teacher pass as loaded while the student trains; teacher-ce is off', async () => {
    const frozen = recorder();
    const { resolved } = await microConfig(RUN('frozen'), [frozen.plugin], ['tiny-llama', 'kava']);
    const run = await train({ resolved, skipFinalEval: true });
    expect(frozen.seen).toHaveLength(3);
    expect(frozen.seen[1]).toBe(frozen.seen[0]);
    expect(frozen.seen[2]).toBe(frozen.seen[0]);
    expect(Object.keys(run.losses)).not.toContain('teacher-ce');
    expect(run.losses.kv).toBeGreaterThan(0);

    const shared = recorder();
    const again = await microConfig(RUN('shared'), [shared.plugin], ['tiny-llama', 'kava']);
    await train({ resolved: again.resolved, skipFinalEval: true });
    expect(shared.seen[0]).toBe(frozen.seen[0]); // the same model at step 1
    expect(shared.seen[2]).not.toBe(shared.seen[0]); // and a trained one after
  });

  it('is refused without a model directory, for a method that trains the teacher, and with a teacher warm-up', async () => {
    const noDir = await microConfig({ train: { teacher: 'frozen' } }, [], ['tiny-llama', 'kava']);
    await expect(train({ resolved: noDir.resolved, skipFinalEval: true })).rejects.toThrow(
      'train.teacher: "frozen" needs backbone.modelDir',
    );
    const fullCot = await microConfig(RUN('frozen'), [], ['tiny-llama', 'full-cot']);
    await expect(train({ resolved: fullCot.resolved, skipFinalEval: true })).rejects.toThrow(
      'applies to the latent methods',
    );
    const warm = await microConfig(
      { ...RUN('frozen'), train: { teacher: 'frozen', teacherWarmup: 0.5 } },
      [],
      ['tiny-llama', 'kava'],
    );
    await expect(train({ resolved: warm.resolved, skipFinalEval: true })).rejects.toThrow(
      'cannot be combined with train.teacherWarmup',
    );
  });
});
