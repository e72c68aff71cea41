import { tf } from '../tf.js';
import { ConfigError } from '../errors.js';
import { FrozenMatrix, frozenMatMul } from '../runtime/frozen-matrix.js';
import { KavaError } from '../errors.js';
import { PROJECTIONS, linearDims, type DecoderWeights, type Linear, type ProjectionName } from './weights.js';

/**
 * LoRA (Hu et al. 2021) as PEFT implements it: y = x·W + dropout(x)·Aᵀ·Bᵀ · (alpha / r), with A
 * drawn kaiming-uniform (bound 1/sqrt(in)) and B zero, so a fresh adapter leaves the model
 * unchanged. We store A as [in, r] and B as [r, out] (transposes of PEFT's lora_A [r, in] and
 * lora_B [out, r]) so the forward matmuls need no transpose.
 */
export interface LoraOptions {
  rank: number;
  alpha: number;
  /** Dropout on the adapter's input while training. */
  dropout: number;
  /** Projections that get an adapter in every layer (PEFT `target_modules`). */
  targets: readonly ProjectionName[];
  /** Seed of the A initialisation. */
  seed?: number;
}

export interface LoraAdapter {
  /** [in, r] */
  a: tf.Variable;
  /** [r, out] */
  b: tf.Variable;
  scale: number;
}

/** The adapters of a decoder, keyed by the HF module path of the linear they wrap. */
export class LoraAdapters {
  readonly byPath = new Map<string, LoraAdapter>();
  constructor(readonly options: Required<Omit<LoraOptions, 'seed'>> & { seed: number }) {}

  /** Creates adapters on `weights` (A random, B zero). */
  static create(weights: DecoderWeights, options: LoraOptions): LoraAdapters {
    const opts = checkLoraOptions(options);
    const adapters = new LoraAdapters(opts);
    let index = 0;
    for (const linear of targetLinears(weights, opts.targets)) {
      const [inF, outF] = linearDims(linear);
      const bound = 1 / Math.sqrt(inF);
      index++;
      adapters.byPath.set(linear.path, {
        a: tf.variable(tf.randomUniform([inF, opts.rank], -bound, bound, 'float32', opts.seed * 7919 + index), true),
        b: tf.variable(tf.zeros([opts.rank, outF]), true),
        scale: opts.alpha / opts.rank,
      });
    }
    return adapters;
  }

  variables(): tf.Variable[] {
    return [...this.byPath.values()].flatMap((ad) => [ad.a, ad.b]);
  }

  /**
   * x2d·W (+b) plus this linear's adapter, if any. Dropout applies only when `training`;
   * `seed` (if given) makes its mask reproducible.
   */
  apply(linear: Linear, x2d: tf.Tensor, training: boolean, seed?: number): tf.Tensor {
    const base = linearForward(linear, x2d);
    const ad = this.byPath.get(linear.path);
    if (ad === undefined) return base;
    const input = training && this.options.dropout > 0 ? tf.dropout(x2d, this.options.dropout, undefined, seed) : x2d;
    return tf.add(base, tf.mul(tf.matMul(tf.matMul(input, ad.a), ad.b), ad.scale));
  }

  /** Folds every adapter into its base weight (W += A·B·scale) and removes the adapters. */
  mergeInto(weights: DecoderWeights): void {
    for (const linear of targetLinears(weights, this.options.targets)) {
      const ad = this.byPath.get(linear.path);
      if (!ad) continue;
      const w = linear.weight;
      if (w instanceof FrozenMatrix)
        throw new KavaError(
          `mergeLora: ${linear.path} is held frozen in native memory; its adapter stays separate (export --merged folds it in while writing)`,
        );
      tf.tidy(() => w.assign(tf.add(w, tf.mul(tf.matMul(ad.a, ad.b), ad.scale))));
    }
    this.dispose();
  }

  dispose(): void {
    for (const ad of this.byPath.values()) {
      ad.a.dispose();
      ad.b.dispose();
    }
    this.byPath.clear();
  }
}

/** x2d [N, in] · W [in, out] (+ bias). */
export function linearForward(linear: Linear, x2d: tf.Tensor): tf.Tensor {
  const w = linear.weight;
  const y = w instanceof FrozenMatrix ? frozenMatMul(x2d, w) : tf.matMul(x2d, w);
  return linear.bias ? tf.add(y, linear.bias) : y;
}

/** The linears of every layer whose projection is in `targets`, layer by layer. */
export function targetLinears(weights: DecoderWeights, targets: readonly ProjectionName[]): Linear[] {
  return weights.layers.flatMap((layer) => PROJECTIONS.filter((p) => targets.includes(p)).map((p) => layer.proj[p]));
}

function checkLoraOptions(o: LoraOptions): Required<Omit<LoraOptions, 'seed'>> & { seed: number } {
  if (!Number.isInteger(o.rank) || o.rank < 1)
    throw new ConfigError(`backbone.lora.rank: expected a positive integer, got ${o.rank}`);
  if (!(o.alpha > 0)) throw new ConfigError(`backbone.lora.alpha: expected a positive number, got ${o.alpha}`);
  if (!(o.dropout >= 0 && o.dropout < 1))
    throw new ConfigError(`backbone.lora.dropout: expected a number in [0, 1), got ${o.dropout}`);
  if (o.targets.length === 0) throw new ConfigError('backbone.lora.targets: expected at least one projection');
  for (const t of o.targets) {
    if (!PROJECTIONS.includes(t))
      throw new ConfigError(`backbone.lora.targets: unknown projection "${t}" (expected ${PROJECTIONS.join(', ')})`);
  }
  return { rank: o.rank, alpha: o.alpha, dropout: o.dropout, targets: [...o.targets], seed: o.seed ?? 0 };
}
