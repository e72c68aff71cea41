import { tf } from '../tf.js';
import { defineFusedOp } from './fused-op.js';
import type { NativeAddon } from './native-addon.js';
import type { BackendMemory, TensorInfo } from './native-memory.js';

// Rotary position embedding as one kernel forward and one backward (native/src/rope.cc). The
// composite (model/rope.ts) is a product with a sign-permutation matrix, two Multiply and an Add
// forward and ~8 kernels backward, for q and k of every layer of every pass.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_ROPE = 'Rope';

/** The kernel both ways: y = rope(x), or (backward) dx = ropeᵀ(dy); input [B, H, S, d]. */
function rotate(
  addon: NativeAddon,
  memory: BackendMemory,
  input: TensorInfo,
  cos: TensorInfo,
  sin: TensorInfo,
  backward: boolean,
): TensorInfo {
  const [B, H, S, d] = input.shape as [number, number, number, number];
  const out = memory.allocate(input.shape, 'float32');
  const [x, c, s, y] = [input, cos, sin, out].map((t) => memory.locate(t));
  addon.rope(
    x!.buffer,
    x!.byteOffset,
    c!.buffer,
    c!.byteOffset,
    s!.buffer,
    s!.byteOffset,
    y!.buffer,
    y!.byteOffset,
    B,
    H,
    S,
    d,
    backward,
  );
  return out;
}

const op = defineFusedOp<'x' | 'cos' | 'sin', Record<string, never>>({
  name: FUSED_ROPE,
  inputs: ['x', 'cos', 'sin'],
  differentiable: ['x'], // cos and sin come from integer positions
  forward: (addon, memory, { x, cos, sin }) => rotate(addon, memory, x, cos, sin, false),
  backward: (addon, memory, dy, { cos, sin }) => [rotate(addon, memory, dy, cos, sin, true)],
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
