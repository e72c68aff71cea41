import { tf } from '../tf.js';
import { fusedAdamW } from '../runtime/fused-adamw.js';

type Tensor = tf.Tensor;

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay: number;
}

/**
 * AdamW (decoupled weight decay, as torch.optim.AdamW) over named variables. tfjs ships Adam
 * without decoupled decay and without a state we can checkpoint; this one keeps its moments
 * as named tensors so a checkpoint restores the run exactly.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Completed updates (bias correction uses it). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(options: AdamWOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay;
  }

  /**
   * Applies one update with learning rate `lr`. `grads` maps variable name to gradient.
   * `decay(name)` says whether weight decay applies (not to norms, biases or embeddings' new rows).
   */
  apply(
    variables: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, Tensor>,
    lr: number,
    decay: (name: string) => boolean = () => true,
  ): void {
    this.step += 1;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    for (const [name, grad] of grads) {
      const variable = variables.get(name);
      if (!variable) throw new Error(`AdamW: gradient for unknown variable "${name}"`);
      tf.tidy(() => {
        const m = this.moment(this.m, name, variable);
        const v = this.moment(this.v, name, variable);
        const decayFactor = decay(name) && this.weightDecay > 0 ? 1 - lr * this.weightDecay : 1;
        const { beta1, beta2, epsilon } = this;
        const fused = fusedAdamW(variable, grad, m, v, { lr, beta1, beta2, epsilon, c1, c2, decay: decayFactor });
        if (fused !== undefined) {
          m.assign(fused[1]);
          v.assign(fused[2]);
          variable.assign(fused[0]);
          return;
        }
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
        const decayed = decayFactor !== 1 ? tf.mul(variable, decayFactor) : variable;
        variable.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let t = store.get(name);
    if (!t) {
      t = tf.variable(tf.zerosLike(like), false);
      store.set(name, t);
    }
    return t;
  }

  /** Moments as named tensors ("m.<name>", "v.<name>"); owned by the optimiser. */
  state(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.m) out.set(`m.${name}`, t);
    for (const [name, t] of this.v) out.set(`v.${name}`, t);
    return out;
  }

  /** Restores moments saved by `state()` (copies the tensors). */
  load(step: number, tensors: ReadonlyMap<string, Tensor>): void {
    this.dispose();
    this.step = step;
    for (const [key, t] of tensors) {
      const [kind, ...rest] = key.split('.');
      const store = kind === 'm' ? this.m : kind === 'v' ? this.v : null;
      if (!store) throw new Error(`AdamW: unexpected state tensor "${key}"`);
      store.set(rest.join('.'), tf.variable(t.clone(), false));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
