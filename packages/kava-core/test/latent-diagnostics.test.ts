// The diagnostics of why latent students do or do not use their latents (issue "diagnose, fix
// the design"): the latent-usage check (latents shuffled across the batch, placeholder latents),
// per-term gradient norms and clipping, the KV loss's position-consistent key targets (with the
// re-rotation identity), the loss-weight warm-up and the synthetic validation split.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Decoder,
  defineLoss,
  evaluate,
  generateSynthetic,
  initBackend,
  inverseFrequencies,
  kvLoss,
  latentStrategy,
  loadRunData,
  runTokenizer,
  setupModel,
  shiftRotary,
  studentForward,
  termWeight,
  tf,
  train,
  type DecoderConfig,
  type KavaPlugin,
  type LatentPass,
  type LossInputs,
} from '@kava/core/internal';
import { microConfig } from './train-helpers.js';
import { tinyConfig } from './model-helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);
const relDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => maxAbs(tf.sub(a, b)) / maxAbs(b));
const jsonLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const LLAMA3_ROPE: DecoderConfig['ropeScaling'] = {
  type: 'llama3',
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
};

describe('moving post-RoPE keys to other positions (the KV loss keyPositions "latent")', () => {
  // Llama-3.2's RoPE (theta 500000 with llama3 scaling) and Qwen2.5's (theta 1e6, q/k/v biases).
  const shapes: [string, Partial<DecoderConfig>][] = [
    ['Llama-3.2 RoPE', { ropeTheta: 500000, ropeScaling: LLAMA3_ROPE, headDim: 16, hiddenSize: 64, numHeads: 4 }],
    [
      'Qwen2.5 RoPE',
      { ropeTheta: 1e6, ropeScaling: null, attentionBias: true, headDim: 16, hiddenSize: 64, numHeads: 4 },
    ],
    ['the tiny presets (theta 10000)', { ropeTheta: 10000, ropeScaling: null }],
  ];
  test.each(shapes)('%s: a re-rotated key equals the key the decoder computes at the new position', (_, over) => {
    const config = tinyConfig(over);
    const model = Decoder.random(config, 3);
    const ids = tf.tensor2d([[5, 9, 2, 7, 11, 3]], undefined, 'int32');
    const at = (first: number) => tf.tensor2d([[0, 1, 2, 3, 4, 5].map((i) => first + 7 * i)], undefined, 'int32');
    const from = at(3);
    const to = at(40);
    const a = model.forward({ inputIds: ids, positionIds: from, kv: 'post-rope', logits: false });
    const b = model.forward({ inputIds: ids, positionIds: to, kv: 'post-rope', logits: false });
    const [B, H, S] = a.keys![0]!.shape as [number, number, number, number];
    const shift = tf.broadcastTo(tf.reshape(tf.sub(to, from), [B, 1, S]), [B, H, S]);
    for (let l = 0; l < config.numLayers; l++) {
      const moved = shiftRotary(a.keys![l]!, shift, config);
      expect(relDiff(moved, b.keys![l]!)).toBeLessThan(2e-5);
      // The unmoved key is far from it: the target really changes.
      expect(relDiff(a.keys![l]!, b.keys![l]!)).toBeGreaterThan(0.05);
      moved.dispose();
    }
    tf.dispose([ids, from, to, shift, ...a.keys!, ...a.values!, ...b.keys!, ...b.values!]);
    model.dispose();
  });

  test('shifting by a negative offset undoes a positive one, and by 0 changes nothing', () => {
    const config = { headDim: 8, ropeTheta: 500000, ropeScaling: LLAMA3_ROPE };
    const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 4);
    const shift = tf.tensor2d(
      [
        [5, -3, 100],
        [0, 17, 2],
      ],
      undefined,
      'int32',
    );
    const back = shiftRotary(shiftRotary(x, shift, config), tf.neg(shift), config);
    expect(relDiff(back, x)).toBeLessThan(1e-5);
    expect(relDiff(shiftRotary(x, tf.zeros([2, 3], 'int32'), config), x)).toBe(0);
    // By hand, channel pair 0 (frequency 1) of a key [1, 0, 0, 0 | 0, 0, 0, 0] shifted by 2:
    // x1' = cos 2, x2' = sin 2.
    const unit = tf.tensor3d([[[1, 0, 0, 0, 0, 0, 0, 0]]]);
    const turned = shiftRotary(unit, tf.tensor2d([[2]]), config).dataSync();
    expect(turned[0]).toBeCloseTo(Math.cos(2), 6);
    expect(turned[4]).toBeCloseTo(Math.sin(2), 6);
    expect(inverseFrequencies(config)[0]).toBe(1);
  });

  test('the KV loss is 0 for a student key equal to the teacher key at the latent position, only with "latent"', () => {
    const rope = { headDim: 8, ropeTheta: 10000, ropeScaling: null };
    const [B, L, H, M, d] = [2, 1, 2, 3, 8];
    const raw = tf.randomNormal([B, L, H, M, d], 0, 1, 'float32', 9);
    const teacherPos = tf.tensor4d([12, 15, 30, 13, 14, 31, 20, 21, 22, 20, 25, 26], [B, L, H, M], 'int32');
    const latentPos = tf.tensor2d(
      [
        [8, 9, 10],
        [6, 7, 8],
      ],
      undefined,
      'int32',
    );
    // Keys rotated by RoPE at the given [B, L, H, M] positions.
    const rotateAt = (pos: tf.Tensor) => shiftRotary(raw, pos, rope);
    const latentGrid = tf.broadcastTo(tf.reshape(latentPos, [B, 1, 1, M]), [B, L, H, M]);
    const inputs = (): LossInputs => ({
      student: {
        logits: tf.zeros([1]),
        targets: tf.zeros([1]),
        targetMask: tf.zeros([1]),
        latentKeys: rotateAt(latentGrid),
        latentValues: raw,
        latentPositions: latentPos,
      },
      compressed: { keys: rotateAt(teacherPos), values: raw, slotMask: tf.ones([B, M]), positions: teacherPos },
      rope,
    });
    const latent = kvLoss.create({ type: 'mse', keyPositions: 'latent' }).compute(inputs()).dataSync()[0]!;
    const cached = kvLoss.create({ type: 'mse', keyPositions: 'cached' }).compute(inputs()).dataSync()[0]!;
    expect(latent).toBeLessThan(1e-10);
    expect(cached).toBeGreaterThan(0.1);
    expect(() => kvLoss.create({ keyPositions: 'latent' }).compute({ ...inputs(), rope: undefined })).toThrow(
      /keyPositions "latent" needs/,
    );
  });

  test("the trainer hands the loss each kept key's teacher position and each latent slot's position", async () => {
    // The teacher row is `Q <bot> C ...` and the student's `Q <bot>` then the latents, both
    // right-padded: with P_b real prefix tokens, CoT token n sits at P_b + n and latent j at P_b + j.
    const seen: { positions: number[][][][]; latent: number[][] }[] = [];
    const evictions: { indices: number[][][][]; slotMask: number[][] }[] = [];
    const probeLoss = defineLoss({
      name: 'probe',
      description: 'records the positions it is given',
      needs: ['student', 'compressed'],
      compute: ({ compressed, student }) => {
        seen.push({
          positions: compressed!.positions!.arraySync() as number[][][][],
          latent: student!.latentPositions!.arraySync() as number[][],
        });
        return tf.scalar(0);
      },
    });
    const probe: KavaPlugin = {
      name: 'position-probe',
      register: (registry) => probeLoss.register(registry),
      apply: (hooks) =>
        hooks.compression.tap('position-probe', (result) => {
          evictions.push({
            indices: result.indices.arraySync() as number[][][][],
            slotMask: result.slotMask.arraySync() as number[][],
          });
          return result;
        }),
    };
    const { resolved } = await microConfig(
      { train: { steps: 1, batchSize: 2, microBatchSize: 2 }, losses: { probe: { weight: 1 } } },
      [probe],
    );
    await train({ resolved, skipFinalEval: true });
    expect(seen).toHaveLength(1);
    const { positions, latent } = seen[0]!;
    const { indices, slotMask } = evictions[0]!;
    latent.forEach((row) => row.forEach((p, j) => expect(p - row[0]!).toBe(j)));
    expect(new Set(latent.map((row) => row[0])).size).toBeGreaterThan(0);
    let checked = 0;
    positions.forEach((layers, b) =>
      layers.forEach((heads, l) =>
        heads.forEach((slots, h) =>
          slots.forEach((p, j) => {
            if (!slotMask[b]![j]) return;
            expect(p).toBe(latent[b]![0]! + indices[b]![l]![h]![j]!);
            checked++;
          }),
        ),
      ),
    );
    expect(checked).toBeGreaterThan(0);
  });
});

describe('the loss-weight warm-up', () => {
  test('ramps linearly from the end of the teacher warm-up, by hand', () => {
    const schedule = { startStep: 10, totalSteps: 100 };
    const term = { weight: 10, warmup: 0.2 }; // 20 steps
    expect(termWeight(term, 5, schedule)).toBe(0);
    expect(termWeight(term, 10, schedule)).toBeCloseTo(0.5, 12); // 10 · 1/20
    expect(termWeight(term, 19, schedule)).toBeCloseTo(5, 12); // 10 · 10/20
    expect(termWeight(term, 29, schedule)).toBe(10);
    expect(termWeight(term, 80, schedule)).toBe(10);
    expect(termWeight({ weight: 10 }, 0, schedule)).toBe(10);
  });

  test('a config with losses.codi.warmup trains with the ramped weight (total = Σ weight · term)', async () => {
    const { resolved } = await microConfig({
      train: { steps: 4, batchSize: 2, microBatchSize: 2 },
      losses: { codi: { weight: 10, warmup: 0.5 } },
    });
    expect(resolved.config.losses.codi).toMatchObject({ weight: 10, warmup: 0.5 });
    const r = await train({ resolved, skipFinalEval: true });
    const rows = jsonLines(join(r.runDir, 'metrics.jsonl')) as { losses: Record<string, number> }[];
    const weights = [5, 10, 10, 10]; // n = 2 steps: 10 · 1/2, then 10
    rows.forEach((row, s) => {
      const { total, ...terms } = row.losses;
      const kv = resolved.config.losses.kv!.weight;
      const expected = terms['student-ce']! + terms['teacher-ce']! + weights[s]! * terms.codi! + kv * (terms.kv ?? 0);
      expect(Math.abs(total! - expected) / expected).toBeLessThan(1e-5);
    });
  });
});

describe('per-term gradient norms and clipping', () => {
  test("every N steps metrics.jsonl holds each term's gradient norm; a lone term's norm is the step's", async () => {
    const lone = await microConfig({
      train: { steps: 4, batchSize: 4, microBatchSize: 2, gradNormEvery: 2, clip: 0 },
      losses: { 'teacher-ce': { weight: 0 }, codi: { weight: 0 }, kv: { weight: 0 } },
    });
    const r = await train({ resolved: lone.resolved, skipFinalEval: true });
    const rows = jsonLines(join(r.runDir, 'metrics.jsonl')) as {
      step: number;
      gradNorm: number;
      clipped: boolean;
      termGradNorms?: Record<string, number>;
    }[];
    expect(rows.map((m) => m.termGradNorms !== undefined)).toEqual([false, true, false, true]);
    for (const m of rows.filter((m) => m.termGradNorms)) {
      expect(Object.keys(m.termGradNorms!)).toEqual(['student-ce']);
      expect(Math.abs(m.termGradNorms!['student-ce']! - m.gradNorm) / m.gradNorm).toBeLessThan(1e-5);
    }
    expect(rows.every((m) => m.clipped === false)).toBe(true); // clip 0: never
  });

  test('with every term on, the norms obey the triangle inequality; clipping is recorded; no tensor leaks', async () => {
    const counts: number[] = [];
    const probe: KavaPlugin = {
      name: 'count',
      apply: (h) => h.step.tap('count', () => void counts.push(tf.memory().numTensors)),
    };
    const all = await microConfig(
      { train: { steps: 6, batchSize: 2, microBatchSize: 1, gradNormEvery: 1, clip: 0.01 } },
      [probe],
    );
    const before = tf.memory().numTensors;
    const r = await train({ resolved: all.resolved, skipFinalEval: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const rows = jsonLines(join(r.runDir, 'metrics.jsonl')) as {
      gradNorm: number;
      clipped: boolean;
      termGradNorms: Record<string, number>;
    }[];
    for (const m of rows) {
      expect(Object.keys(m.termGradNorms).sort()).toEqual(['codi', 'kv', 'student-ce', 'teacher-ce']);
      const sum = Object.values(m.termGradNorms).reduce((s, x) => s + x, 0);
      expect(m.gradNorm).toBeLessThanOrEqual(sum * (1 + 1e-5));
      expect(Math.max(...Object.values(m.termGradNorms))).toBeGreaterThan(0);
      expect(m.clipped).toBe(m.gradNorm > 0.01);
    }
    expect(rows.some((m) => m.clipped)).toBe(true);
  });

  test('measuring the term norms does not change the training (same losses and weights)', async () => {
    const plain = await microConfig({ train: { steps: 3, batchSize: 2, microBatchSize: 2, seed: 3 } });
    const measured = await microConfig({
      train: { steps: 3, batchSize: 2, microBatchSize: 2, seed: 3, gradNormEvery: 1 },
    });
    const a = await train({ resolved: plain.resolved, skipFinalEval: true });
    const b = await train({ resolved: measured.resolved, skipFinalEval: true });
    const losses = (dir: string) => jsonLines(join(dir, 'metrics.jsonl')).map((m) => m.losses);
    expect(losses(b.runDir)).toEqual(losses(a.runDir));
  });
});

describe('the latent-usage check', () => {
  async function microModel(mode: 'jacobi' | 'autoregressive') {
    const { resolved } = await microConfig({ latent: { count: 3, iterations: 2, mode } });
    const { config, plugins } = resolved;
    const data = await loadRunData(config, plugins.registry, (p) => p);
    const model = setupModel(config, plugins.registry, await runTokenizer(config, { trainExamples: data.train }));
    return { model, data, config };
  }

  test.each(['jacobi', 'autoregressive'] as const)(
    "%s: shuffled runs each row with the next row's latents, placeholder with <latent> in every slot",
    async (mode) => {
      const { model, data } = await microModel(mode);
      const { backbone, tokenizer, latent } = model;
      const B = 3;
      const questions = data.test.slice(0, B).map((e) => e.question);
      const batchOf = () => {
        const encode = (q: string) => [...tokenizer.encode(q), tokenizer.tokenToId('<bot>')!];
        const rows = questions.map(encode);
        const P = Math.max(...rows.map((r) => r.length));
        const pad = (r: number[]) => [...r, ...new Array<number>(P - r.length).fill(tokenizer.padId)];
        return {
          prefixIds: tf.tensor2d(rows.map(pad), [B, P], 'int32'),
          prefixMask: tf.tensor2d(
            rows.map((r) => pad(r).map((_, i) => (i < r.length ? 1 : 0))),
            [B, P],
            'int32',
          ),
          prefixLast: tf.tensor1d(
            rows.map((r) => r.length - 1),
            'int32',
          ),
          segmentIds: tf.tensor2d(
            [[tokenizer.tokenToId('<eot>')!, 4, 5]].flatMap((r) => [r, r, r]),
            [B, 3],
            'int32',
          ),
          segmentMask: tf.ones([B, 3], 'int32'),
        };
      };
      tf.tidy(() => {
        const batch = batchOf();
        // The rollout's latent inputs, all M of them, as observed pass by pass.
        const inputs: tf.Tensor[] = [];
        const observe = (p: LatentPass) => {
          if (mode === 'jacobi') inputs.splice(0, inputs.length, tf.keep(p.inputs.clone()));
          else inputs.push(tf.keep(p.inputs.clone()));
        };
        const rollout = studentForward(backbone, latent, batch, { observe });
        const all = tf.concat(inputs, 1); // [B, M, D]
        expect(all.shape[1]).toBe(latent.count);
        const prefix = backbone.forward({
          inputIds: batch.prefixIds,
          attentionMask: batch.prefixMask,
          returnCache: true,
          logits: false,
        });
        const finalPass = (latents: tf.Tensor) =>
          backbone.forward({
            inputEmbeds: tf.concat([latents, backbone.embed(batch.segmentIds)], 1),
            attentionMask: tf.ones([B, latent.count + 3], 'int32'),
            cache: prefix.cache!,
          }).logits!;
        // The rollout itself is one causal pass over its latents (autoregressive too; its final
        // pass holds only the last latent and the segment, the earlier latents being cached).
        const width = rollout.logits!.shape[1]!;
        const oneRun = finalPass(all);
        const tail = tf.slice(oneRun, [0, oneRun.shape[1]! - width, 0], [-1, width, -1]);
        expect(relDiff(rollout.logits!, tail)).toBeLessThan(1e-4);
        const shuffled = studentForward(backbone, latent, batch, { latents: 'shuffled' });
        expect(relDiff(shuffled.logits!, finalPass(tf.gather(all, [1, 2, 0])))).toBeLessThan(1e-4);
        expect(relDiff(shuffled.logits!, oneRun)).toBeGreaterThan(1e-3);
        const placeholder = studentForward(backbone, latent, batch, { latents: 'placeholder' });
        const slots = backbone.embed(tf.fill([B, latent.count], latent.placeholderId, 'int32'));
        expect(relDiff(placeholder.logits!, finalPass(slots))).toBeLessThan(1e-4);
        expect(placeholder.forwardPasses).toBe(2);
        tf.dispose(inputs);
      });
      expect(() =>
        tf.tidy(() => {
          const b = batchOf();
          const one = {
            prefixIds: tf.slice(b.prefixIds, [0, 0], [1, -1]),
            prefixMask: tf.slice(b.prefixMask, [0, 0], [1, -1]),
            prefixLast: tf.slice(b.prefixLast, [0], [1]),
            segmentIds: tf.slice(b.segmentIds, [0, 0], [1, -1]),
            segmentMask: tf.slice(b.segmentMask, [0, 0], [1, -1]),
          };
          studentForward(backbone, latent, one, { latents: 'shuffled' });
        }),
      ).toThrow(/at least 2 questions/);
      model.dispose();
    },
  );

  test('a batch of copies of one question answers the same shuffled as not; a last batch of 1 joins the one before', async () => {
    const { model, data } = await microModel('jacobi');
    const copies = new Array<string>(4).fill(data.test[0]!.question);
    const plain = await latentStrategy(model.latent).generate(model, copies);
    const shuffled = await latentStrategy(model.latent, { latents: 'shuffled' }).generate(model, copies);
    expect(shuffled.map((g) => g.answerText)).toEqual(plain.map((g) => g.answerText));
    expect(plain[0]!.answerText.length).toBeGreaterThan(0);
    // 5 questions in batches of 4: the fifth would be alone, so it is shuffled with the first four.
    const five = await evaluate(
      model,
      data.test.slice(0, 4).concat(data.test[0]!),
      latentStrategy(model.latent, { latents: 'shuffled' }),
      {
        batchSize: 4,
      },
    );
    expect(five.questions).toBe(5);
    model.dispose();
  });

  test('a latent run records its accuracy with shuffled and with placeholder latents at the final evaluation', async () => {
    const { resolved } = await microConfig({ train: { steps: 2, batchSize: 2, microBatchSize: 2, evalEvery: 1 } });
    const r = await train({ resolved });
    expect(r.evaluation!.accuracyLatentsShuffled).toBeGreaterThanOrEqual(0);
    expect(r.evaluation!.accuracyLatentsPlaceholder).toBeGreaterThanOrEqual(0);
    const rows = jsonLines(join(r.runDir, 'eval.jsonl'));
    expect(rows.map((row) => 'accuracyLatentsShuffled' in row)).toEqual([true, true].map((_, i) => i === 1));
    const files = r.evaluation!.latentUsagePredictions!;
    expect(files.shuffled).toMatch(/final\.shuffled\.predictions\.jsonl$/);
    const shuffledRows = jsonLines(files.shuffled);
    expect(shuffledRows).toHaveLength(r.evaluation!.questions);
    expect(shuffledRows.filter((p) => p.correct).length / shuffledRows.length).toBe(
      r.evaluation!.accuracyLatentsShuffled,
    );
  });

  test('eval.latentUsage false and the non-latent methods skip it', async () => {
    const off = await microConfig({
      train: { steps: 1, batchSize: 2, microBatchSize: 2 },
      eval: { latentUsage: false },
    });
    expect((await train({ resolved: off.resolved })).evaluation!.accuracyLatentsShuffled).toBeUndefined();
    const noCot = await microConfig(
      { train: { steps: 1, batchSize: 2, microBatchSize: 2 } },
      [],
      ['tiny-llama', 'no-cot'],
    );
    expect((await train({ resolved: noCot.resolved })).evaluation!.accuracyLatentsShuffled).toBeUndefined();
  });
});

describe('the synthetic validation split', () => {
  const options = { trainSize: 300, testSize: 50, minSteps: 2, maxSteps: 3, seed: 11, maxValue: 20 };
  test('is disjoint from train and test, and leaves both as they were without it', () => {
    const without = generateSynthetic(options);
    const withValid = generateSynthetic({ ...options, validSize: 60 });
    expect(withValid.train).toEqual(without.train);
    expect(withValid.test).toEqual(without.test);
    expect(without.validation).toEqual([]);
    expect(withValid.validation).toHaveLength(60);
    const seen = new Set([...withValid.train, ...withValid.test].map((p) => p.question));
    expect(withValid.validation.filter((p) => seen.has(p.question))).toEqual([]);
    expect(new Set(withValid.validation.map((p) => p.question)).size).toBe(60);
  });

  test('eval.split "validation" evaluates on it; with a data file and no data.validation it is refused', async () => {
    const { resolved } = await microConfig({
      data: { synthetic: { validSize: 6 } },
      eval: { split: 'validation', limit: 6, latentUsage: false },
      train: { steps: 1, batchSize: 2, microBatchSize: 2 },
    });
    const data = await loadRunData(resolved.config, resolved.plugins.registry, (p) => p);
    const r = await train({ resolved });
    const predictions = jsonLines(r.evaluation!.predictionsFile!);
    expect(predictions.map((p) => p.question)).toEqual(data.validation.map((e) => e.question));
    const test = new Set(data.test.map((e) => e.question));
    expect(predictions.some((p) => test.has(p.question as string))).toBe(false);

    const noValidation = { ...data, validation: [] };
    const { heldOutExamples } = await import('@kava/core/app');
    expect(() => heldOutExamples(resolved.config, noValidation)).toThrow(/eval.split is "validation".*data.validation/);
  });
});
