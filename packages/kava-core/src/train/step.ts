import { tf } from '../tf.js';
import type { Backbone, ForwardResult } from '../contracts/backbone.js';
import type { LossInputs, LossTerm } from '../contracts/loss.js';
import type { EvictionResult, ScorerInput } from '../contracts/scorer.js';
import type { KavaHooks } from '../plugin/hooks.js';
import { compressCache, type Compression } from '../compression/compress.js';
import { studentForward, type LatentSettings } from '../latent/rollout.js';
import { detach } from '../ops/stop-gradient.js';
import { windowQueryCount } from '../compression/scorer-input.js';
import type { BatchPlan, TrainBatch } from './batch.js';
import { deriveSeed } from '../util/rng.js';

type Tensor = tf.Tensor;

/** A loss term with its weight from the config. */
export interface WeightedTerm {
  name: string;
  weight: number;
  /** Fraction of the steps over which the weight ramps linearly from 0 (`losses.<name>.warmup`). */
  warmup?: number;
  term: LossTerm;
}

/** Where a run's weight ramps start and how long the run is (for `WeightedTerm.warmup`). */
export interface WeightSchedule {
  /** First step of the latent objective (the end of train.teacherWarmup). */
  startStep: number;
  totalSteps: number;
}

/**
 * A term's weight at `step` (0-based): the full weight, or with `warmup` a linear ramp that gives
 * weight · k / n at the k-th step from `startStep` (n = warmup · totalSteps, at least 1) and the
 * full weight from step startStep + n − 1 on.
 */
export function termWeight(term: Pick<WeightedTerm, 'weight' | 'warmup'>, step: number, schedule?: WeightSchedule) {
  if (!term.warmup || !schedule) return term.weight;
  const n = Math.max(1, Math.round(term.warmup * schedule.totalSteps));
  const k = step - schedule.startStep + 1;
  return term.weight * Math.min(1, Math.max(0, k) / n);
}

/** Everything one forward/backward of the method needs besides the batch. */
export interface StepParts {
  backbone: Backbone;
  /** The teacher pass's model when it is not the trained one (`train.teacher: "frozen"`). */
  teacher?: Backbone;
  latent: LatentSettings;
  /** Null when the KV loss is off (nothing to compress). */
  compression: Compression | null;
  terms: readonly WeightedTerm[];
  hooks: KavaHooks;
  /** For terms with a weight warm-up; without it every term has its full weight. */
  schedule?: WeightSchedule;
}

/**
 * [B, L, H, S, d]-style gather of the CoT region: `perLayer` [B, H, S, d] tensors and positions
 * [B, N] → [B, L, H, N, d].
 */
function cotRegion(perLayer: readonly Tensor[], positions: Tensor): Tensor {
  return tf.tidy(() => {
    const stacked = tf.stack([...perLayer], 1); // [B, L, H, S, d]
    const [B, L, H, S, d] = stacked.shape as [number, number, number, number, number];
    const N = positions.shape[1]!;
    // A flat gather: tf.gather with batchDims gave wrong values on wasm in tfjs 4.22.
    const rows = tf.reshape(tf.transpose(stacked, [0, 3, 1, 2, 4]), [B * S, L * H * d]);
    const flat = tf.add(
      tf.mul(tf.expandDims(tf.range(0, B, 1, 'int32'), 1), tf.scalar(S, 'int32')),
      tf.cast(positions, 'int32'),
    );
    const picked = tf.reshape(tf.gather(rows, tf.reshape(flat, [B * N])), [B, N, L, H, d]);
    return tf.transpose(picked, [0, 2, 3, 1, 4]);
  });
}

/** Rows [B, H, Q, d] per layer → [B, L, H, Q, d], split into the first `answer` rows and the rest. */
function splitRows(queries: readonly Tensor[], answer: number): { answer?: Tensor; window?: Tensor } {
  const all = tf.stack([...queries], 1);
  const Q = all.shape[3]!;
  return {
    ...(answer > 0 ? { answer: tf.slice(all, [0, 0, 0, 0, 0], [-1, -1, -1, answer, -1]) } : {}),
    ...(Q > answer ? { window: tf.slice(all, [0, 0, 0, answer, 0], [-1, -1, -1, Q - answer, -1]) } : {}),
  };
}

/**
 * The scorer's view of a teacher pass (call inside tf.tidy): the CoT region of every layer's K/V
 * and the answer / window query rows. The compressed cache is a target (stop-gradient) and top-k
 * is not differentiable, so everything here is a detached copy of the teacher's tensors.
 */
export function teacherScorerInput(
  backbone: Backbone,
  out: ForwardResult,
  teacher: NonNullable<TrainBatch['teacher']>,
  budget: number,
  seed: number,
): ScorerInput {
  const rows = out.queries ? splitRows(out.queries.map(detach), teacher.answerRows) : {};
  return {
    keys: cotRegion(out.keys!.map(detach), teacher.cotPositions),
    values: cotRegion(out.values!.map(detach), teacher.cotPositions),
    mask: teacher.cotMask,
    positions: tf.cast(teacher.cotPositions, 'int32'),
    groupSize: backbone.config.numHeads / backbone.config.numKvHeads,
    budget,
    seed,
    ...(rows.answer ? { answerQueries: rows.answer, answerQueryMask: teacher.answerRowMask! } : {}),
    ...(rows.window ? { windowQueries: rows.window, windowQueryMask: teacher.windowRowMask! } : {}),
  };
}

/** The teacher query rows a compression's scorer reads (a batch plan's fields): the answer's, the last α CoT tokens'. */
export function scorerRows(compression: Compression | null): Pick<BatchPlan, 'answerQueries' | 'window'> {
  const needs = compression?.scorer.needs ?? [];
  return {
    answerQueries: needs.includes('answerQueries'),
    window: compression && needs.includes('windowQueries') ? windowQueryCount(compression.scorer) : 0,
  };
}

/** What the teacher pass computes besides its cache and the scorer's query rows. */
export interface TeacherPassOptions {
  logits?: boolean;
  hidden?: boolean;
  /** Training mode (adapter dropout) with this seed. */
  training?: { seed: number };
}

/**
 * The teacher's pass over the written trace, with the post-RoPE K/V and the query rows a
 * compression reads when `compress` (call inside a tape or tf.tidy).
 */
export function teacherForward(
  backbone: Backbone,
  teacher: NonNullable<TrainBatch['teacher']>,
  compress: boolean,
  options: TeacherPassOptions = {},
): ForwardResult {
  return backbone.forward({
    inputIds: teacher.ids,
    attentionMask: teacher.mask,
    logits: options.logits ?? false,
    hidden: options.hidden ?? false,
    kv: compress ? 'post-rope' : false,
    ...(teacher.rows ? { attentionRows: teacher.rows } : {}),
    ...(options.training ? { training: true, seed: options.training.seed } : {}),
  });
}

/**
 * The compression of a teacher pass's CoT cache to `budget` entries per layer and KV head: what
 * the KV loss distils and what `kava compress` shows. `hooks` (with the step) let the
 * `compression` taps see or replace the result.
 */
export function compressTeacher(
  compression: Compression,
  backbone: Backbone,
  out: ForwardResult,
  teacher: NonNullable<TrainBatch['teacher']>,
  budget: number,
  seed: number,
  hooks?: { hooks: KavaHooks; step: number },
): EvictionResult {
  return compressCache(compression, teacherScorerInput(backbone, out, teacher, budget, seed), hooks ?? {});
}

/**
 * The RoPE position of each kept teacher entry, [B, L, H_kv, M] int32: the teacher pass rotates
 * token s at `sum(mask[0..s]) − 1` (the Backbone's default positions), and `indices` point into
 * the CoT region whose token indices are `cotPositions` [B, N].
 */
function keptPositions(mask: Tensor, cotPositions: Tensor, indices: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, S] = mask.shape as [number, number];
    const N = cotPositions.shape[1]!;
    const rope = tf.sub(tf.cumsum(tf.cast(mask, 'int32'), 1), tf.scalar(1, 'int32')); // [B, S]
    const rowBase = (width: number) => tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(width, 'int32'));
    const cotRope = tf.reshape(
      tf.gather(tf.reshape(rope, [B * S]), tf.add(tf.cast(cotPositions, 'int32'), tf.expandDims(rowBase(S), 1))),
      [B, N],
    );
    const [, L, H, M] = indices.shape as [number, number, number, number];
    const flat = tf.add(indices, tf.reshape(rowBase(N), [B, 1, 1, 1]));
    return tf.reshape(tf.gather(tf.reshape(cotRope, [B * N]), tf.reshape(flat, [-1])), [B, L, H, M]);
  });
}

/**
 * Fixed indices of the random sites of a micro-batch: each pass derives its dropout seed from the
 * micro-batch's seed and its site (the random scorer takes the micro-batch seed itself). Fixed,
 * so the masks do not depend on which other passes run.
 */
const SEED_SITE = { teacher: 1, student: 2 } as const;

/**
 * What the loss terms read of one pass (teacher or student): its logits against the pass's
 * targets and, when the pass computed them, the hidden states after each of the L layers.
 */
function passInputs(
  out: { logits?: Tensor; hidden?: Tensor[] },
  part: { targets: Tensor; targetMask: Tensor; anchor: Tensor },
  L: number,
) {
  return {
    logits: out.logits!,
    targets: part.targets,
    targetMask: part.targetMask,
    answerAnchor: part.anchor,
    ...(out.hidden ? { hidden: out.hidden.slice(1, L + 1) } : {}),
  };
}

/**
 * One forward pass of the method on a micro-batch (call inside a gradient tape or tf.tidy):
 * teacher forward → compression of its CoT cache → student rollout → every weighted loss term.
 * `seed` is the micro-batch's: every random draw of the pass (adapter dropout, random scorer)
 * derives from it, so the same seed gives the same losses and gradients.
 * Returns the weighted total, each term's unweighted value (kept, caller disposes) and the weight
 * each had at this step.
 */
export function forwardLosses(
  parts: StepParts,
  batch: TrainBatch,
  step: number,
  seed: number,
): { total: Tensor; terms: Record<string, Tensor>; weights: Record<string, number> } {
  const { backbone, hooks } = parts;
  const inputs: LossInputs = {};
  const needHidden = parts.terms.some((t) => t.term.needs.includes('hidden'));
  const L = backbone.config.numLayers;

  if (batch.teacher) {
    const t = batch.teacher;
    const teacherModel = parts.teacher ?? backbone;
    const out = teacherForward(teacherModel, t, parts.compression !== null, {
      logits: true,
      hidden: needHidden,
      training: { seed: deriveSeed(seed, SEED_SITE.teacher) },
    });
    hooks.teacherForward.call({ step, result: out });
    inputs.teacher = passInputs(out, t, L);
    if (parts.compression) {
      const kept = compressTeacher(parts.compression, teacherModel, out, t, parts.latent.count, seed, { hooks, step });
      inputs.compressed = {
        keys: kept.keys,
        values: kept.values,
        slotMask: kept.slotMask,
        ...(kept.headSlotMask ? { headSlotMask: kept.headSlotMask } : {}),
        positions: keptPositions(t.mask, t.cotPositions, kept.indices),
      };
    }
  }

  if (batch.student) {
    const s = batch.student;
    const wantKv = parts.terms.some((t) => t.term.needs.includes('compressed'));
    const out = studentForward(backbone, parts.latent, s, {
      logits: true,
      hidden: needHidden,
      kv: wantKv,
      training: true,
      seed: deriveSeed(seed, SEED_SITE.student),
    });
    hooks.studentForward.call({
      step,
      result: { ...(out.logits ? { logits: out.logits } : {}), ...(out.hidden ? { hidden: out.hidden } : {}) },
    });
    inputs.student = {
      ...passInputs(out, s, L),
      ...(out.latentKeys
        ? {
            latentKeys: out.latentKeys,
            latentValues: out.latentValues!,
            // Latent j follows the row's real prefix (`Q <bot>`, right-padded) at position P_b + j.
            latentPositions: tf.add(
              tf.expandDims(tf.add(tf.cast(s.prefixLast, 'int32'), tf.scalar(1, 'int32')), 1),
              tf.expandDims(tf.range(0, parts.latent.count, 1, 'int32'), 0),
            ),
          }
        : {}),
    };
  }
  inputs.rope = backbone.config;

  const raw: Record<string, Tensor> = {};
  for (const { name, term } of parts.terms) raw[name] = term.compute(inputs);
  const terms = hooks.losses.call(raw, { step });
  // A term a hook added has weight 1.
  const weights = Object.fromEntries(
    Object.keys(terms).map((name) => {
      const term = parts.terms.find((t) => t.name === name);
      return [name, term ? termWeight(term, step, parts.schedule) : 1];
    }),
  );
  const total = tf.addN(Object.entries(terms).map(([name, value]) => tf.mul(value, weights[name]!)));
  for (const value of Object.values(terms)) tf.keep(value);
  return { total, terms, weights };
}
