import { tf } from '../tf.js';

type Tensor = tf.Tensor;

/**
 * The latent projection of KAVA-METHOD.md §2: Linear(d,d) → GELU → Linear(d,d) → LayerNorm(d).
 * Maps a position's last hidden state to the input embedding of the next latent token.
 * Initialised like torch.nn.Linear (uniform ±1/√d) from a seed.
 */
export class Projection {
  readonly variables: Map<string, tf.Variable>;

  constructor(
    readonly hiddenSize: number,
    seed: number,
    prefix = 'projection',
  ) {
    const d = hiddenSize;
    const bound = 1 / Math.sqrt(d);
    const uniform = (shape: number[], s: number) => tf.randomUniform(shape, -bound, bound, 'float32', s);
    // tf.tidy releases the initial values; the variables themselves survive it.
    const entries: [string, tf.Variable][] = [];
    tf.tidy(
      () =>
        void entries.push(
          [`${prefix}.fc1.weight`, tf.variable(uniform([d, d], seed), true)],
          [`${prefix}.fc1.bias`, tf.variable(uniform([d], seed + 1), true)],
          [`${prefix}.fc2.weight`, tf.variable(uniform([d, d], seed + 2), true)],
          [`${prefix}.fc2.bias`, tf.variable(uniform([d], seed + 3), true)],
          [`${prefix}.norm.weight`, tf.variable(tf.ones([d]), true)],
          [`${prefix}.norm.bias`, tf.variable(tf.zeros([d]), true)],
        ),
    );
    this.variables = new Map(entries);
    this.prefix = prefix;
  }
  private readonly prefix: string;

  private v(name: string): tf.Variable {
    return this.variables.get(`${this.prefix}.${name}`)!;
  }

  /** [..., d] hidden states → [..., d] latent input embeddings. Weights are stored [in, out]. */
  apply(hidden: Tensor): Tensor {
    return tf.tidy(() => {
      const shape = hidden.shape;
      const d = this.hiddenSize;
      const x = hidden.reshape([-1, d]);
      const h1 = tf.add(tf.matMul(x, this.v('fc1.weight')), this.v('fc1.bias'));
      const gelu = tf.mul(tf.mul(h1, 0.5), tf.add(1, tf.erf(tf.mul(h1, Math.SQRT1_2))));
      const h2 = tf.add(tf.matMul(gelu, this.v('fc2.weight')), this.v('fc2.bias'));
      const { mean, variance } = tf.moments(h2, -1, true);
      const normed = tf.div(tf.sub(h2, mean), tf.sqrt(tf.add(variance, 1e-5)));
      return tf.add(tf.mul(normed, this.v('norm.weight')), this.v('norm.bias')).reshape(shape);
    });
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}
