import { tf } from '../tf.js';
import { KavaHooks } from '../plugin/hooks.js';
import type { TrainBatch } from './batch.js';
import { forwardLosses, type StepParts } from './step.js';

/**
 * The gradient each weighted loss term alone contributes to one optimizer step
 * (`train.gradNormEvery`): per term, the same forward pass (same micro-batch seeds, so the same
 * dropout masks and random scores) differentiated with only that term as the objective, summed
 * over the step's micro-batches like the real gradient. Its L2 norm, beside the step's
 * `gradNorm`, says which term steers the shared weights; a term whose norm dwarfs the others
 * decides the direction of every clipped step.
 *
 * One more forward and backward per term and micro-batch, so it runs every N steps only. The
 * extra passes run without the plugins' hooks (a hook sees each training pass once).
 */
export class TermGradients {
  private readonly sums = new Map<string, tf.Tensor[]>();
  private readonly quiet: StepParts;

  constructor(
    private readonly parts: StepParts,
    private readonly variables: tf.Variable[],
  ) {
    this.quiet = { ...parts, hooks: new KavaHooks() };
  }

  /** Adds one micro-batch (`share` of the step's examples, as the trainer weights it). */
  add(batch: TrainBatch, step: number, seed: number, share: number): void {
    for (const { name } of this.parts.terms) {
      let kept: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const out = forwardLosses(this.quiet, batch, step, seed);
        kept = [out.total, ...Object.values(out.terms)];
        const term = out.terms[name];
        return (term ? tf.mul(term, out.weights[name]! * share) : tf.scalar(0)) as tf.Scalar;
      }, this.variables);
      tf.dispose([value, ...kept]);
      const ordered = this.variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
      const previous = this.sums.get(name);
      if (!previous) {
        this.sums.set(name, ordered);
      } else {
        this.sums.set(
          name,
          previous.map((p, i) => {
            const sum = tf.add(p, ordered[i]!);
            tf.dispose([p, ordered[i]!]);
            return sum;
          }),
        );
      }
    }
  }

  /** Each term's gradient norm over the micro-batches added, then forgets them. */
  take(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, grads] of this.sums) {
      out[name] = tf.tidy(() => Math.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
      tf.dispose(grads);
    }
    this.sums.clear();
    return out;
  }

  dispose(): void {
    for (const grads of this.sums.values()) tf.dispose(grads);
    this.sums.clear();
  }
}
