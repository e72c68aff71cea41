// The training session is the product's one optimizer step: an application that assembles it from
// a resolved config and calls trainStep gets, step for step, the losses `train()` records; a stop
// between micro-batches applies nothing; the step leaves no tensor behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTrainingSession,
  initBackend,
  loadRunData,
  runTokenizer,
  shuffle,
  tf,
  train,
  type Example,
  type KavaConfigInput,
} from '@kava/core/internal';
import { microConfig } from './train-helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** The trainer's order of examples: epoch 0 shuffled with data.shuffleSeed (the runs here stay in it). */
const firstEpoch = (examples: readonly Example[], seed: number) => {
  const order = shuffle(examples, seed);
  let next = 0;
  return (n: number) => order.slice(next, (next += n));
};

/** A session as an application assembles it, and the examples in the trainer's order. */
async function sessionFor(extra: KavaConfigInput) {
  const { config, plugins } = (await microConfig(extra)).resolved;
  const data = await loadRunData(config, plugins.registry, (p) => p);
  const tokenizer = await runTokenizer(config, { trainExamples: data.train });
  const session = createTrainingSession(config, plugins, tokenizer, data.train.length);
  return { session, take: firstEpoch(data.train, config.data.shuffleSeed) };
}

describe('TrainingSession', () => {
  it('trainStep by hand gives the losses train() records, step for step', async () => {
    const extra = { train: { steps: 4, batchSize: 4, microBatchSize: 2, seed: 3, gradNormEvery: 2 } };
    const ran = await microConfig(extra);
    const run = await train({ resolved: ran.resolved, skipFinalEval: true });
    const recorded = readFileSync(join(run.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { losses: Record<string, number>; gradNorm: number; termGradNorms?: object });

    const { session, take } = await sessionFor(extra);
    try {
      expect(session.totalSteps).toBe(4);
      for (let step = 0; step < session.totalSteps; step++) {
        const outcome = await session.trainStep(step, take);
        if (outcome.status !== 'applied') throw new Error(`step ${step}: ${outcome.status}`);
        expect(outcome.losses).toEqual(recorded[step]!.losses);
        expect(outcome.gradNorm).toBe(recorded[step]!.gradNorm);
        // Steps 2 and 4 measure each term's own gradient (train.gradNormEvery 2).
        expect(outcome.termGradNorms === undefined).toBe(recorded[step]!.termGradNorms === undefined);
      }
    } finally {
      session.dispose();
    }
  });

  it('a stop between micro-batches applies nothing, and no step leaves a tensor behind', async () => {
    const { session, take } = await sessionFor({ train: { steps: 3, batchSize: 4, microBatchSize: 2 } });
    try {
      await session.trainStep(0, take); // the optimizer's state now exists
      const weights = () => [...session.model.params.values()].map((v) => Array.from(v.dataSync()));
      const before = weights();
      const tensors = tf.memory().numTensors;
      const stop = new AbortController();
      stop.abort();
      expect((await session.trainStep(1, take, { signal: stop.signal })).status).toBe('stopped');
      expect(weights()).toEqual(before);
      expect(session.optimizer.step).toBe(1);
      expect(tf.memory().numTensors).toBe(tensors);
      expect((await session.trainStep(1, take)).status).toBe('applied');
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      session.dispose();
    }
  });
});
