// Same seed, same run: LoRA training (adapter dropout on) on a Hugging Face checkpoint repeats bit
// for bit, and so does a run that is interrupted and resumed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, train, type KavaConfigInput, type KavaPlugin } from '@kava/core/app';
import { REPO } from './helpers.js';
import { microConfig } from './train-helpers.js';

const LLAMA = join(REPO, 'test/fixtures/hf-tiny-llama');

/** The losses of every logged step. */
const losses = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> });

/** The bytes of the newest checkpoint's trainable weights (adapters, added rows, projection). */
const finalWeights = (checkpoint: string) => readFileSync(join(checkpoint, 'params.safetensors'));

// The tiny Llama checkpoint with LoRA on every projection and a high adapter dropout, so a mask
// drawn differently would show in the losses from step 2 on (step 1 hides it: B starts at zero).
// Two micro-batches per step and the random scorer: every seeded site of a step is exercised.
const LORA_RUN: KavaConfigInput = {
  backbone: { modelDir: LLAMA, overrides: {}, lora: { enabled: true, rank: 4, alpha: 8, dropout: 0.3 } },
  train: { steps: 3, batchSize: 2, microBatchSize: 1, lr: 1e-2, seed: 3, checkpointEvery: 0 },
  compression: { scorer: 'random' },
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('training reproducibility (LoRA with dropout, Hugging Face checkpoint)', () => {
  it('two runs with the same seed log the same losses at every step and end with the same weights', async () => {
    const a = await microConfig(LORA_RUN);
    const ra = await train({ resolved: a.resolved, skipFinalEval: true });
    const b = await microConfig(LORA_RUN);
    const rb = await train({ resolved: b.resolved, skipFinalEval: true });
    expect(losses(ra.runDir).map((m) => m.step)).toEqual([1, 2, 3]);
    expect(losses(rb.runDir).map((m) => m.losses)).toEqual(losses(ra.runDir).map((m) => m.losses));
    expect(finalWeights(rb.checkpoint).equals(finalWeights(ra.checkpoint))).toBe(true);
  });

  it('a run interrupted after step 1 and resumed ends exactly where the uninterrupted run does', async () => {
    const whole = await microConfig(LORA_RUN);
    const rWhole = await train({ resolved: whole.resolved, skipFinalEval: true });

    const controller = new AbortController();
    const stopper: KavaPlugin = {
      name: 'stopper',
      apply: (h) =>
        h.step.tap('stopper', (m) => {
          if (m.step === 1) controller.abort();
        }),
    };
    const cut = await microConfig(LORA_RUN, [stopper]);
    const first = await train({ resolved: cut.resolved, signal: controller.signal, skipFinalEval: true });
    expect(first).toMatchObject({ interrupted: true, steps: 1 });
    const again = await microConfig(LORA_RUN);
    const resumed = await train({ resolved: again.resolved, resume: first.runDir, skipFinalEval: true });
    expect(resumed).toMatchObject({ interrupted: false, steps: 3 });
    expect(resumed.runDir).toBe(first.runDir);

    expect(losses(resumed.runDir).map((m) => m.losses)).toEqual(losses(rWhole.runDir).map((m) => m.losses));
    expect(finalWeights(resumed.checkpoint).equals(finalWeights(rWhole.checkpoint))).toBe(true);
  });
});
