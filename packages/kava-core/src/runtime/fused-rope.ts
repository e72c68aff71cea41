import { tf } from '../tf.js';
import { defineFusedOp } from './fused-op.js';

// Rotary position embedding as one kernel forward and one backward (native/src/rope.cc). The
// composite (model/rope.ts) is a product with a sign-permutation matrix, two Multiply and an Add
// forward and ~8 kernels backward, for q and k of every layer of every pass.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_ROPE = 'Rope';

const op = defineFusedOp<'x' | 'cos' | 'sin', Record<string, never>>({
  name: FUSED_ROPE,
  inputs: ['x', 'cos', 'sin'],
  differentiable: ['x'], // cos and sin come from integer positions
  forward(addon, memory, { x, cos, sin }) {
    const [B, H, S, d] = x.shape as [number, number, number, number];
    const y = memory.allocate(x.shape, 'float32');
    const [xs, c, s, ys] = [x, cos, sin, y].map((t) => memory.locate(t));
    addon.rope(
      xs!.buffer,
      xs!.byteOffset,
      c!.buffer,
      c!.byteOffset,
      s!.buffer,
      s!.byteOffset,
      ys!.buffer,
      ys!.byteOffset,
      B,
      H,
      S,
      d,
      false,
    );
    return y;
  },
  backward(addon, memory, dy, { x, cos, sin }) {
    const [B, H, S, d] = x.shape as [number, number, number, number];
    const dx = memory.allocate(x.shape, 'float32');
    const [g, c, s, dxs] = [dy, cos, sin, dx].map((t) => memory.locate(t));
    addon.rope(
      g!.buffer,
      g!.byteOffset,
      c!.buffer,
      c!.byteOffset,
      s!.buffer,
      s!.byteOffset,
      dxs!.buffer,
      dxs!.byteOffset,
      B,
      H,
      S,
      d,
      true,
    );
    return [dx];
  },
});

/**
 * x * cos + rotate_half(x) * sin as one kernel, for x [B, H, S, d] and cos/sin [B, 1, S, d]
 * (float32, d even); undefined where the fused kernel does not run (the caller uses the composite).
 */
export function fusedRotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor | undefined {
  const [B, , S, d] = x.shape;
  const table = [B, 1, S, d];
  const fits =
    x.rank === 4 &&
    x.dtype === 'float32' &&
    cos.dtype === 'float32' &&
    sin.dtype === 'float32' &&
    d! % 2 === 0 &&
    x.size > 0 &&
    tf.util.arraysEqual(cos.shape, table) &&
    tf.util.arraysEqual(sin.shape, table);
  return fits && op.available() ? op.apply({ x, cos, sin }, {}) : undefined;
}
