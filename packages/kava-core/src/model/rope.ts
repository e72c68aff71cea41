import { tf } from '../tf.js';
import { fusedRotary } from '../runtime/fused-rope.js';
import type { DecoderConfig } from '../contracts/backbone.js';

/**
 * Rotary position embedding as Hugging Face Llama/Qwen2 apply it: the head dimension is split
 * in halves (not interleaved pairs), frequency i = theta^(-2i/d), and Llama-3's `rope_scaling`
 * ("llama3") stretches the low frequencies by `factor`, leaves the high ones alone and blends
 * the band between `low_freq_factor` and `high_freq_factor`.
 */
export function inverseFrequencies(config: Pick<DecoderConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const half = config.headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / config.ropeTheta ** ((2 * i) / config.headDim);
  const s = config.ropeScaling;
  if (s === null) return out;
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = out[i]!;
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) continue; // high frequency: unchanged
    if (wavelen > lowFreqWavelen) {
      out[i] = freq / s.factor; // low frequency: stretched
      continue;
    }
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    out[i] = (1 - smooth) * (freq / s.factor) + smooth * freq;
  }
  return out;
}

/** cos and sin tables [B, 1, S, d] for int32 positions [B, S]. */
export function rotaryTables(positions: tf.Tensor, invFreq: tf.Tensor): { cos: tf.Tensor; sin: tf.Tensor } {
  return tf.tidy(() => {
    const [B, S] = positions.shape as [number, number];
    const freqs = tf.mul(tf.reshape(tf.cast(positions, 'float32'), [B, S, 1]), tf.reshape(invFreq, [1, 1, -1]));
    const angles = tf.reshape(tf.concat([freqs, freqs], -1), [B, 1, S, -1]);
    return { cos: tf.cos(angles), sin: tf.sin(angles) };
  });
}

/**
 * The fixed [d, d] matrix R with x·R = rotate_half(x) = [-x2, x1]. A matmul instead of
 * split/neg/concat: one BLAS call forward and one backward, where the slicing version cost 7–13%
 * of a training step on wasm (docs/performance.md).
 */
function rotateHalfMatrix(d: number): tf.Tensor2D {
  let r = rotateHalfValues.get(d);
  if (!r) {
    const half = d / 2;
    r = new Float32Array(d * d);
    for (let j = 0; j < half; j++) {
      r[(j + half) * d + j] = -1; // output column j takes -x[j + half]
      r[j * d + j + half] = 1; // output column j + half takes x[j]
    }
    rotateHalfValues.set(d, r);
  }
  return tf.tensor2d(r, [d, d]);
}
/** The matrix's values per head size (the tensor itself is made inside each caller's tidy). */
const rotateHalfValues = new Map<number, Float32Array>();

/**
 * x * cos + rotate_half(x) * sin, for x [B, H, S, d]; rotate_half(x) = [-x2, x1]. One native
 * kernel on wasm and cpu when the addon is built (runtime/fused-rope.ts), else tfjs ops.
 */
export function applyRotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const fused = fusedRotary(x, cos, sin);
  if (fused !== undefined) return fused;
  return tf.tidy(() => {
    const d = x.shape[3]!;
    const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, d]), rotateHalfMatrix(d)), x.shape);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
  });
}

/**
 * Moves post-RoPE keys to other positions: `keys` [..., d] were rotated at some positions and
 * `shift` [...] (the same leading shape, int32 or float) holds new position − old position per
 * key. RoPE rotates each channel pair by position × frequency, and rotations compose, so
 * rotating by the difference gives the key as RoPE would have rotated it at the new position
 * (llama3 scaling only changes the frequencies). The KV loss's `keyPositions: "latent"` uses it
 * to move the teacher's kept keys to the latent slots they are compared with.
 */
export function shiftRotary(
  keys: tf.Tensor,
  shift: tf.Tensor,
  config: Pick<DecoderConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>,
): tf.Tensor {
  return tf.tidy(() => {
    const d = config.headDim;
    if (keys.shape[keys.rank - 1] !== d)
      throw new Error(`shiftRotary: keys end in ${keys.shape[keys.rank - 1]} channels, the head size is ${d}`);
    const invFreq = tf.tensor1d(inverseFrequencies(config));
    const freqs = tf.mul(tf.expandDims(tf.cast(shift, 'float32'), -1), invFreq); // [..., d/2]
    const angles = tf.concat([freqs, freqs], -1);
    const half = d / 2;
    const lead = keys.shape.slice(0, -1).map(() => 0);
    const x1 = tf.slice(keys, [...lead, 0], [...lead.map(() => -1), half]);
    const x2 = tf.slice(keys, [...lead, half], [...lead.map(() => -1), half]);
    const rotated = tf.concat([tf.neg(x2), x1], -1);
    return tf.add(tf.mul(keys, tf.cos(angles)), tf.mul(rotated, tf.sin(angles)));
  });
}
