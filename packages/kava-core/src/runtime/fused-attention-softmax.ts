import { tf } from '../tf.js';
import { defineFusedOp } from './fused-op.js';
import type { NativeAddon } from './native-addon.js';
import type { BackendMemory, TensorInfo } from './native-memory.js';

// Attention probabilities softmax(scores · scale + mask bias) as one kernel forward and one
// backward (native/src/softmax.cc; the backward recomputes the probabilities from its inputs).
// The composite is Multiply, Add and Softmax forward and ~6 kernels backward, per layer per pass.

/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_ATTENTION_SOFTMAX = 'AttentionSoftmax';

/** x [B, ...heads, S, T] and bias [B, 1, ..., S, T] as the kernel's [batch, heads, rows, cols]. */
function extents(x: TensorInfo): [number, number, number, number] {
  const shape = x.shape;
  const cols = shape[shape.length - 1]!;
  const rows = shape[shape.length - 2]!;
  const batch = shape[0]!;
  return [batch, tf.util.sizeFromShape(shape) / (batch * rows * cols), rows, cols];
}

function run(
  addon: NativeAddon,
  memory: BackendMemory,
  scores: TensorInfo,
  bias: TensorInfo,
  scale: number,
  dy?: TensorInfo,
): TensorInfo {
  const out = memory.allocate(scores.shape, 'float32');
  const [x, b, o] = [scores, bias, out].map((t) => memory.locate(t));
  const g = dy === undefined ? undefined : memory.locate(dy);
  addon.maskedSoftmax(
    x!.buffer,
    x!.byteOffset,
    b!.buffer,
    b!.byteOffset,
    o!.buffer,
    o!.byteOffset,
    ...extents(scores),
    scale,
    g?.buffer ?? null,
    g?.byteOffset ?? 0,
  );
  return out;
}

const op = defineFusedOp<'scores' | 'bias', { scale: number }>({
  name: FUSED_ATTENTION_SOFTMAX,
  inputs: ['scores', 'bias'],
  differentiable: ['scores'], // the bias is the causal and padding mask
  forward: (addon, memory, { scores, bias }, { scale }) => run(addon, memory, scores, bias, scale),
  backward: (addon, memory, dy, { scores, bias }, { scale }) => [run(addon, memory, scores, bias, scale, dy)],
});

/**
 * softmax(scores · scale + bias) over the last axis: scores [B, ...heads, S, T], bias
 * [B, 1, ..., 1, S, T] (ones in every head axis). One kernel each way on wasm and cpu with the
 * addon; the tfjs composite elsewhere or for other shapes.
 */
export function attentionProbs(scores: tf.Tensor, bias: tf.Tensor, scale: number): tf.Tensor {
  const r = scores.rank;
  const fused =
    r >= 3 &&
    bias.rank === r &&
    scores.dtype === 'float32' &&
    bias.dtype === 'float32' &&
    scores.size > 0 &&
    bias.shape[0] === scores.shape[0] &&
    bias.shape.slice(1, r - 2).every((d) => d === 1) &&
    bias.shape[r - 2] === scores.shape[r - 2] &&
    bias.shape[r - 1] === scores.shape[r - 1] &&
    op.available();
  if (fused) return op.apply({ scores, bias }, { scale });
  return tf.tidy(() => tf.softmax(tf.add(tf.mul(scores, scale), bias)));
}
