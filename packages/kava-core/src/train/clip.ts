import { tf } from '../tf.js';

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (0 = no clipping), as
 * torch.nn.utils.clip_grad_norm_. Returns the new gradients (the caller disposes the old ones)
 * and the norm before clipping.
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() => {
    const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    return squares.length ? Math.sqrt(tf.addN(squares).dataSync()[0]!) : 0;
  });
  const scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, scale === 1 ? g.clone() : tf.tidy(() => tf.mul(g, scale)));
  return { grads: out, norm };
}
