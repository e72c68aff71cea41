import { tf } from '../tf.js';
import { defineFusedOp } from './fused-op.js';

// RMSNorm, fused where it can be: one kernel forward and one backward (native/src/rms_norm.cc). The composite costs
// ~7 kernel calls forward and ~15 backward, and a KaVa step runs ~50 norms (every layer of the
// teacher pass, the student prefix, each Jacobi iteration and the final pass): ~2,000 of its
// ~10,000 kernel calls.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_RMS_NORM = 'RmsNorm';

const op = defineFusedOp<'x' | 'weight', { eps: number }>({
  name: FUSED_RMS_NORM,
  inputs: ['x', 'weight'],
  forward(addon, memory, { x, weight }, { eps }) {
    const d = x.shape[x.shape.length - 1]!;
    const y = memory.allocate(x.shape, 'float32');
    const [xs, ws, ys] = [x, weight, y].map((t) => memory.locate(t));
    addon.rmsNorm(
      xs!.buffer,
      xs!.byteOffset,
      ws!.buffer,
      ws!.byteOffset,
      ys!.buffer,
      ys!.byteOffset,
      tf.util.sizeFromShape(x.shape) / d,
      d,
      eps,
    );
    return y;
  },
  backward(addon, memory, dy, { x, weight }, { eps }) {
    const d = x.shape[x.shape.length - 1]!;
    const dx = memory.allocate(x.shape, 'float32');
    const dw = memory.allocate([d], 'float32');
    const [g, xs, ws, dxs, dws] = [dy, x, weight, dx, dw].map((t) => memory.locate(t));
    addon.rmsNormGrad(
      g!.buffer,
      g!.byteOffset,
      xs!.buffer,
      xs!.byteOffset,
      ws!.buffer,
      ws!.byteOffset,
      dxs!.buffer,
      dxs!.byteOffset,
      dws!.buffer,
      dws!.byteOffset,
      tf.util.sizeFromShape(x.shape) / d,
      d,
      eps,
    );
    return [dx, dw];
  },
});

/**
 * RMSNorm: x / sqrt(mean(x²) + eps) · weight, over the last axis. The fused kernels on wasm and
 * cpu when the addon is built (float32, weight [d]); the composite of tfjs ops elsewhere.
 */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const fused =
    x.dtype === 'float32' &&
    weight.dtype === 'float32' &&
    x.rank >= 1 &&
    weight.rank === 1 &&
    weight.shape[0] === x.shape[x.rank - 1] &&
    x.size > 0 &&
    op.available();
  if (fused) return op.apply({ x, weight }, { eps });
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
}
