import { tf } from '../tf.js';
import { defineFusedOp } from './fused-op.js';

// SwiGLU's gating, silu(gate) · up, as one kernel forward and one backward
// (native/src/swiglu.cc); the composite is Sigmoid, two Multiply forward and ~8 kernels backward,
// once per layer per pass.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_SWIGLU = 'SwiGlu';

const op = defineFusedOp<'gate' | 'up', Record<string, never>>({
  name: FUSED_SWIGLU,
  inputs: ['gate', 'up'],
  forward(addon, memory, { gate, up }) {
    const y = memory.allocate(gate.shape, 'float32');
    const [g, u, ys] = [gate, up, y].map((t) => memory.locate(t));
    addon.swiglu(
      g!.buffer,
      g!.byteOffset,
      u!.buffer,
      u!.byteOffset,
      ys!.buffer,
      ys!.byteOffset,
      tf.util.sizeFromShape(gate.shape),
    );
    return y;
  },
  backward(addon, memory, dy, { gate, up }) {
    const dg = memory.allocate(gate.shape, 'float32');
    const du = memory.allocate(up.shape, 'float32');
    const [d, g, u, dgs, dus] = [dy, gate, up, dg, du].map((t) => memory.locate(t));
    addon.swigluGrad(
      d!.buffer,
      d!.byteOffset,
      g!.buffer,
      g!.byteOffset,
      u!.buffer,
      u!.byteOffset,
      dgs!.buffer,
      dgs!.byteOffset,
      dus!.buffer,
      dus!.byteOffset,
      tf.util.sizeFromShape(gate.shape),
    );
    return [dg, du];
  },
});

/** silu(gate) · up = gate · sigmoid(gate) · up, elementwise (same shapes, float32). */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (
    gate.dtype === 'float32' &&
    up.dtype === 'float32' &&
    gate.size > 0 &&
    tf.util.arraysEqual(gate.shape, up.shape) &&
    op.available()
  ) {
    return op.apply({ gate, up }, {});
  }
  return tf.tidy(() => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up));
}
