// The training loop: memory discipline, reproducibility, resume, NaN stop, interruption, hooks.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  initBackend,
  KavaError,
  loadRun,
  SafetensorsFile,
  tf,
  train,
  writeSafetensors,
  type KavaPlugin,
} from '@kava/core/internal';
import { microConfig } from './train-helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const metrics = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('training loop', () => {
  it('holds the same number of tensors after step 10 and step 100', async () => {
    const counts = new Map<number, number>();
    const probe: KavaPlugin = {
      name: 'probe',
      apply: (h) =>
        h.step.tap('probe', (m) => {
          if (m.step === 10 || m.step === 100) counts.set(m.step, tf.memory().numTensors);
        }),
    };
    // evalEvery "auto" on a 100-step run: evaluations at 20, 40, 60 and 80 % of the steps, which
    // must leave no tensor behind either.
    const { resolved } = await microConfig(
      { train: { steps: 100, batchSize: 2, microBatchSize: 1, evalEvery: 'auto' } },
      [probe],
    );
    const before = tf.memory().numTensors;
    const r = await train({ resolved, skipFinalEval: true });
    const evals = readFileSync(join(r.runDir, 'eval.jsonl'), 'utf8').trim().split('\n');
    expect(evals.map((l) => JSON.parse(l).step)).toEqual([20, 40, 60, 80]);
    expect(counts.get(10)).toBeGreaterThan(0);
    expect(counts.get(100)).toBe(counts.get(10));
    expect(tf.memory().numTensors).toBe(before); // everything released at the end
  });

  it('lowers the losses on the synthetic task', async () => {
    const { resolved } = await microConfig({ train: { steps: 40, batchSize: 4, microBatchSize: 4, lr: 3e-3 } });
    const r = await train({ resolved, skipFinalEval: true });
    const rows = metrics(r.runDir);
    const mean = (xs: typeof rows, k: string) => xs.reduce((s, m) => s + m.losses[k]!, 0) / xs.length;
    for (const term of ['teacher-ce', 'student-ce'])
      expect(mean(rows.slice(-5), term)).toBeLessThan(0.8 * mean(rows.slice(0, 5), term));
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
    const rc = await train({
      resolved: c.resolved,
      resume: join(ra.runDir, 'checkpoints', 'step-0000003'),
      runDir: join(c.dir, 'resumed'),
      skipFinalEval: true,
    });
    expect(rc.steps).toBe(6);
    expect(metrics(rc.runDir).map((m) => m.step)).toEqual([4, 5, 6]);
    expect(metrics(rc.runDir).map((m) => m.losses)).toEqual(
      metrics(ra.runDir)
        .slice(3)
        .map((m) => m.losses),
    );
  });

  /**
   * A plugin that makes the loss or only the gradient of step `at` (0-based) non-finite, `times`
   * times (micro-batches): a skipped step is retried with the next batch under the same step number.
   */
  const poisonAt = (at: number, times: number, what: 'loss' | 'gradient'): KavaPlugin => ({
    name: 'poison',
    apply: (h) =>
      h.losses.tap('poison', (terms, { step }) => {
        if (step !== at || times === 0) return terms;
        times--;
        const ce = terms['teacher-ce']!;
        // The gradient case keeps the loss value finite, as an exploding learning rate does.
        const nanGrad = tf.customGrad((x) => ({
          value: tf.clone(x as tf.Tensor),
          gradFunc: (dy: tf.Tensor) => tf.mul(dy, NaN),
        }));
        return { ...terms, 'teacher-ce': what === 'loss' ? tf.add(ce, NaN) : (nanGrad(ce) as tf.Tensor) };
      }),
  });
  const runDirOf = (baseDir: string) => readdirSync(join(baseDir, 'runs')).map((d) => join(baseDir, 'runs', d))[0]!;
  const allFinite = (dir: string) => {
    const file = SafetensorsFile.open(join(dir, 'params.safetensors'));
    try {
      return [...file.entries.keys()].every((name) => file.read(name).every(Number.isFinite));
    } finally {
      file.close();
    }
  };

  it('skips a step whose gradient is not finite (never applied, never checkpointed) and goes on', async () => {
    const { resolved } = await microConfig({ train: { steps: 6, checkpointEvery: 2 } }, [poisonAt(2, 1, 'gradient')]);
    const lines: string[] = [];
    const r = await train({ resolved, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(r.steps).toBe(6);
    expect(lines.join('\n')).toMatch(
      /step 3: gradient norm is NaN; skipped, weights unchanged \(1 in a row, at most 3\)/,
    );
    const rows = metrics(r.runDir);
    expect(rows.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const m of rows) expect(Number.isFinite((m as unknown as { gradNorm: number }).gradNorm)).toBe(true);
    expect(allFinite(r.checkpoint)).toBe(true);
  });

  it('stops after train.maxNonFiniteSkips non-finite steps in a row, naming the step, the losses and the last good checkpoint', async () => {
    const { resolved } = await microConfig(
      { train: { steps: 8, checkpointEvery: 2, maxNonFiniteSkips: 2, microBatchSize: 4 } },
      [poisonAt(4, 3, 'gradient')],
    );
    const err = await train({ resolved }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KavaError);
    expect((err as Error).message).toMatch(
      /^step 5: gradient norm is NaN, the 3rd non-finite step in a row \(train\.maxNonFiniteSkips is 2\); training stopped\. Losses: .*teacher-ce=[\d.]+, .*total=[\d.]+\. The last checkpoint \(finite weights\) is .*step-0000004; continue from it with a lower learning rate: kava train --resume .* --set train\.lr=/,
    );
    const runDir = runDirOf(resolved.baseDir);
    expect(readFileSync(join(runDir, 'checkpoints', 'latest'), 'utf8').trim()).toBe('step-0000004');
    expect(allFinite(join(runDir, 'checkpoints', 'step-0000004'))).toBe(true);
  });

  it('stops at the first NaN loss with train.maxNonFiniteSkips 0 and keeps the last good checkpoint', async () => {
    const { resolved } = await microConfig({ train: { steps: 8, checkpointEvery: 2, maxNonFiniteSkips: 0 } }, [
      poisonAt(4, 1, 'loss'),
    ]);
    const err = await train({ resolved }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KavaError);
    expect((err as Error).message).toMatch(
      /^step 5: loss "teacher-ce" is NaN, the 1st non-finite step in a row \(train\.maxNonFiniteSkips is 0\); training stopped\. Losses: .*teacher-ce=NaN, .*total=NaN\. The last checkpoint \(finite weights\) is .*step-0000004; continue from it with a lower learning rate: kava train --resume .* --set train\.lr=/,
    );
    const runDir = runDirOf(resolved.baseDir);
    expect(readFileSync(join(runDir, 'checkpoints', 'latest'), 'utf8').trim()).toBe('step-0000004');
    expect(existsSync(join(runDir, 'checkpoints', 'step-0000004', 'params.safetensors'))).toBe(true);
  });

  it('refuses to load a checkpoint whose weights are not finite, naming the file', async () => {
    const { resolved } = await microConfig({ train: { steps: 1 } });
    const r = await train({ resolved, skipFinalEval: true });
    const file = join(r.checkpoint, 'params.safetensors');
    const st = SafetensorsFile.open(file);
    const tensors = [...st.entries].map(([name, e]) => ({ name, shape: e.shape, data: st.read(name) }));
    st.close();
    tensors[1]!.data[3] = NaN;
    writeSafetensors(file, tensors);
    // A checkpoint from before checksums (a newer one refuses the changed file by its sha256 first).
    const stateFile = join(r.checkpoint, 'state.json');
    const { sha256: _sha, ...state } = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify(state));
    const err = await loadRun(r.runDir, { builtinPlugins: BUILTIN_PLUGINS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KavaError);
    expect((err as KavaError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor "${tensors[1]!.name}" holds 1 non-finite value`,
      ),
    );
  });

  it('saves a checkpoint and returns when interrupted (Ctrl-C)', async () => {
    const controller = new AbortController();
    const stopper: KavaPlugin = {
      name: 'stopper',
      apply: (h) =>
        h.step.tap('stopper', (m) => {
          if (m.step === 2) controller.abort();
        }),
    };
    const { resolved } = await microConfig({ train: { steps: 50 } }, [stopper]);
    const r = await train({ resolved, signal: controller.signal });
    expect(r).toMatchObject({ interrupted: true, steps: 2, evaluation: null });
    expect(r.checkpoint).toMatch(/step-0000002$/);
    expect(existsSync(join(r.checkpoint, 'state.json'))).toBe(true);
  });

  it('honours a stop between the micro-batches of a step: the unfinished step is dropped, and a resume matches the uninterrupted run', async () => {
    // Batch 4 in micro-batches of 1: the stop comes during step 3's second micro-batch.
    const settings = { train: { steps: 5, batchSize: 4, microBatchSize: 1, checkpointEvery: 0, seed: 2 } };
    const controller = new AbortController();
    let calls = 0;
    const stopper: KavaPlugin = {
      name: 'stopper',
      apply: (h) =>
        h.batch.tap('stopper', ({ step }) => {
          if (step === 2 && ++calls === 2) controller.abort();
        }),
    };
    const a = await microConfig(settings, [stopper]);
    const stopped = await train({ resolved: a.resolved, signal: controller.signal, skipFinalEval: true });
    expect(stopped).toMatchObject({ interrupted: true, steps: 2 });
    expect(stopped.checkpoint).toMatch(/step-0000002$/);
    const resumed = await train({
      resolved: (await microConfig(settings)).resolved,
      resume: stopped.runDir,
      skipFinalEval: true,
    });
    const twin = await train({ resolved: (await microConfig(settings)).resolved, skipFinalEval: true });
    expect(metrics(resumed.runDir).map((m) => m.losses)).toEqual(metrics(twin.runDir).map((m) => m.losses));
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
    expect(terms.slice(0, 2)).toEqual([
      ['teacher-ce', 'total'],
      ['teacher-ce', 'total'],
    ]);
    expect(terms.slice(2)).toEqual([
      ['codi', 'kv', 'student-ce', 'teacher-ce', 'total'],
      ['codi', 'kv', 'student-ce', 'teacher-ce', 'total'],
    ]);
  });

  it('fires the lifecycle hooks in order', async () => {
    const calls: string[] = [];
    const recorder: KavaPlugin = {
      name: 'recorder',
      apply(h) {
        h.runStart.tap('r', () => {
          calls.push('runStart');
        });
        h.batch.tap('r', () => {
          calls.push('batch');
        });
        h.teacherForward.tap('r', () => {
          calls.push('teacherForward');
        });
        h.compression.tap('r', (result, info) => {
          calls.push(`compression:${info.scorer}`);
          return result;
        });
        h.studentForward.tap('r', () => {
          calls.push('studentForward');
        });
        h.losses.tap('r', (terms) => {
          calls.push('losses');
          return terms;
        });
        h.step.tap('r', () => {
          calls.push('step');
        });
        h.evaluation.tap('r', () => {
          calls.push('evaluation');
        });
        h.checkpoint.tap('r', () => {
          calls.push('checkpoint');
        });
        h.runEnd.tap('r', () => {
          calls.push('runEnd');
        });
      },
    };
    const { resolved } = await microConfig(
      { train: { steps: 1, batchSize: 2, microBatchSize: 2 }, compression: { scorer: 'keydiff' } },
      [recorder],
    );
    await train({ resolved });
    expect(calls).toEqual([
      'runStart',
      'batch',
      'teacherForward',
      'compression:keydiff',
      'studentForward',
      'losses',
      'step',
      'checkpoint',
      'evaluation',
      'runEnd',
    ]);
  });
});
