// The training loop: memory discipline, reproducibility, resume, NaN stop, interruption, hooks.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, KavaError, tf, train, type KavaPlugin } from '@kava/core';
import { microConfig } from './train-helpers.js';

const metrics = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('training loop', () => {
  it('holds the same number of tensors after step 10 and step 100', async () => {
    const counts = new Map<number, number>();
    const probe: KavaPlugin = { name: 'probe', apply: (h) => h.step.tap('probe', (m) => { if (m.step === 10 || m.step === 100) counts.set(m.step, tf.memory().numTensors); }) };
    const { resolved } = await microConfig({ train: { steps: 100, batchSize: 2, microBatchSize: 1 } }, [probe]);
    const before = tf.memory().numTensors;
    await train({ resolved, skipFinalEval: true });
    expect(counts.get(10)).toBeGreaterThan(0);
    expect(counts.get(100)).toBe(counts.get(10));
    expect(tf.memory().numTensors).toBe(before); // everything released at the end
  });

  it('lowers the losses on the synthetic task', async () => {
    const { resolved } = await microConfig({ train: { steps: 40, batchSize: 4, microBatchSize: 4, lr: 3e-3 } });
    const r = await train({ resolved, skipFinalEval: true });
    const rows = metrics(r.runDir);
    const mean = (xs: typeof rows, k: string) => xs.reduce((s, m) => s + m.losses[k]!, 0) / xs.length;
    for (const term of ['teacher-ce', 'student-ce']) expect(mean(rows.slice(-5), term)).toBeLessThan(0.8 * mean(rows.slice(0, 5), term));
  });

  it('is reproducible to the last digit, and a resumed run continues to the same losses', async () => {
    const config = { train: { steps: 6, checkpointEvery: 3, seed: 5 }, compression: { scorer: 'random' } };
    const a = await microConfig(config);
    const ra = await train({ resolved: a.resolved, skipFinalEval: true });
    const b = await microConfig(config);
    const rb = await train({ resolved: b.resolved, skipFinalEval: true });
    expect(metrics(rb.runDir).map((m) => m.losses)).toEqual(metrics(ra.runDir).map((m) => m.losses));
    // Resume the first run from its step-3 checkpoint into a new folder.
    const c = await microConfig(config);
    const rc = await train({ resolved: c.resolved, resume: join(ra.runDir, 'checkpoints', 'step-0000003'), runDir: join(c.dir, 'resumed'), skipFinalEval: true });
    expect(rc.steps).toBe(6);
    expect(metrics(rc.runDir).map((m) => m.step)).toEqual([4, 5, 6]);
    expect(metrics(rc.runDir).map((m) => m.losses)).toEqual(metrics(ra.runDir).slice(3).map((m) => m.losses));
  });

  it('stops on a NaN loss with a clear message and keeps the last good checkpoint', async () => {
    const poison: KavaPlugin = { name: 'poison', apply: (h) => h.losses.tap('poison', (terms, { step }) => (step === 4 ? { ...terms, 'teacher-ce': tf.scalar(NaN) } : terms)) };
    const { resolved } = await microConfig({ train: { steps: 8, checkpointEvery: 2 } }, [poison]);
    const err = await train({ resolved }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KavaError);
    expect((err as Error).message).toMatch(/loss "teacher-ce" became NaN at step 5; training stopped\. The last good checkpoint is .*step-0000004/);
    const runDir = readdirSync(join(resolved.baseDir, 'runs')).map((d) => join(resolved.baseDir, 'runs', d))[0]!;
    expect(readFileSync(join(runDir, 'checkpoints', 'latest'), 'utf8').trim()).toBe('step-0000004');
    expect(existsSync(join(runDir, 'checkpoints', 'step-0000004', 'params.safetensors'))).toBe(true);
  });

  it('saves a checkpoint and returns when interrupted (Ctrl-C)', async () => {
    const controller = new AbortController();
    const stopper: KavaPlugin = { name: 'stopper', apply: (h) => h.step.tap('stopper', (m) => { if (m.step === 2) controller.abort(); }) };
    const { resolved } = await microConfig({ train: { steps: 50 } }, [stopper]);
    const r = await train({ resolved, signal: controller.signal });
    expect(r).toMatchObject({ interrupted: true, steps: 2, evaluation: null });
    expect(r.checkpoint).toMatch(/step-0000002$/);
    expect(existsSync(join(r.checkpoint, 'state.json'))).toBe(true);
  });

  it.each([
    ['codi', ['teacher-ce', 'student-ce', 'codi'], 'latent'],
    ['pccot', ['teacher-ce', 'student-ce', 'codi'], 'latent'],
    ['full-cot', ['teacher-ce'], 'cot'],
    ['no-cot', ['teacher-ce'], 'direct'],
  ])('trains and evaluates the %s comparison method', async (method, terms, mode) => {
    const { resolved } = await microConfig({ train: { steps: 2 } }, [], ['tiny-llama', method]);
    const r = await train({ resolved });
    expect(Object.keys(r.losses).sort()).toEqual([...terms, 'total'].sort());
    for (const v of Object.values(r.losses)) expect(Number.isFinite(v)).toBe(true);
    expect(r.evaluation).toMatchObject({ mode, questions: 4 });
  });

  it('trains only the teacher during the teacher warm-up, then the whole objective', async () => {
    const { resolved } = await microConfig({ train: { steps: 4, teacherWarmup: 0.5 } });
    const r = await train({ resolved, skipFinalEval: true });
    const terms = metrics(r.runDir).map((m) => Object.keys(m.losses).sort());
    expect(terms.slice(0, 2)).toEqual([['teacher-ce', 'total'], ['teacher-ce', 'total']]);
    expect(terms.slice(2)).toEqual([['codi', 'kv', 'student-ce', 'teacher-ce', 'total'], ['codi', 'kv', 'student-ce', 'teacher-ce', 'total']]);
  });

  it('fires the lifecycle hooks in order', async () => {
    const calls: string[] = [];
    const recorder: KavaPlugin = {
      name: 'recorder',
      apply(h) {
        h.runStart.tap('r', () => { calls.push('runStart'); });
        h.batch.tap('r', () => { calls.push('batch'); });
        h.teacherForward.tap('r', () => { calls.push('teacherForward'); });
        h.compression.tap('r', (result, info) => { calls.push(`compression:${info.scorer}`); return result; });
        h.studentForward.tap('r', () => { calls.push('studentForward'); });
        h.losses.tap('r', (terms) => { calls.push('losses'); return terms; });
        h.step.tap('r', () => { calls.push('step'); });
        h.evaluation.tap('r', () => { calls.push('evaluation'); });
        h.checkpoint.tap('r', () => { calls.push('checkpoint'); });
        h.runEnd.tap('r', () => { calls.push('runEnd'); });
      },
    };
    const { resolved } = await microConfig({ train: { steps: 1, batchSize: 2, microBatchSize: 2 }, compression: { scorer: 'keydiff' } }, [recorder]);
    await train({ resolved });
    expect(calls).toEqual([
      'runStart',
      'batch', 'teacherForward', 'compression:keydiff', 'studentForward', 'losses', 'step',
      'checkpoint', 'evaluation', 'runEnd',
    ]);
  });
});
