import { tf } from '../tf.js';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { backendMemory, type TensorInfo } from './native-memory.js';
import { nativeKernelsEnabled } from './native-kernels.js';

// RMSNorm as one kernel forward and one backward on the wasm and cpu backends (native/src/
// rms_norm.cc). The composite of tfjs ops costs ~7 kernel calls forward and ~15 backward, and a
// KaVa step runs ~50 norms (every layer of the teacher pass, the student prefix, each Jacobi
// iteration and the final pass): ~1,100 of its ~10,000 kernel calls.

const FORWARD = 'KavaRmsNorm';
const BACKWARD = 'KavaRmsNormGrad';
const BACKENDS: readonly string[] = ['wasm', 'cpu'];
/** The name setNativeKernelsEnabled switches it by (to compare with the composite). */
export const FUSED_RMS_NORM = 'RmsNorm';

type Attrs = { eps: number };

function forwardKernel(addon: NativeAddon, backendName: string) {
  return ({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: Attrs; backend: object }) => {
    const { x, weight } = inputs as { x: TensorInfo; weight: TensorInfo };
    const memory = backendMemory(backendName, backend as never)!;
    const d = x.shape[x.shape.length - 1]!;
    const y = memory.allocate(x.shape, 'float32');
    const [xs, ws, ys] = [memory.locate(x), memory.locate(weight), memory.locate(y)];
    const rows = tf.util.sizeFromShape(x.shape) / d;
    addon.rmsNorm(xs.buffer, xs.byteOffset, ws.buffer, ws.byteOffset, ys.buffer, ys.byteOffset, rows, d, attrs.eps);
    return y;
  };
}

function backwardKernel(addon: NativeAddon, backendName: string) {
  return ({ inputs, attrs, backend }: { inputs: Record<string, TensorInfo>; attrs: Attrs; backend: object }) => {
    const { dy, x, weight } = inputs as { dy: TensorInfo; x: TensorInfo; weight: TensorInfo };
    const memory = backendMemory(backendName, backend as never)!;
    const d = x.shape[x.shape.length - 1]!;
    const dx = memory.allocate(x.shape, 'float32');
    const dw = memory.allocate([d], 'float32');
    const [g, xs, ws, dxs, dws] = [dy, x, weight, dx, dw].map((t) => memory.locate(t)) as [
      ReturnType<typeof memory.locate>,
      ReturnType<typeof memory.locate>,
      ReturnType<typeof memory.locate>,
      ReturnType<typeof memory.locate>,
      ReturnType<typeof memory.locate>,
    ];
    addon.rmsNormGrad(
      g.buffer,
      g.byteOffset,
      xs.buffer,
      xs.byteOffset,
      ws.buffer,
      ws.byteOffset,
      dxs.buffer,
      dxs.byteOffset,
      dws.buffer,
      dws.byteOffset,
      tf.util.sizeFromShape(x.shape) / d,
      d,
      attrs.eps,
    );
    return [dx, dw];
  };
}

let addonForKernels: NativeAddon | null | undefined;

/** Registers the two kernels and the gradient once; returns the addon, or null without one. */
function register(): NativeAddon | null {
  if (addonForKernels !== undefined) return addonForKernels;
  const { addon } = loadNativeAddon();
  addonForKernels = addon;
  if (addon === null) return null;
  for (const backendName of BACKENDS) {
    tf.registerKernel({ kernelName: FORWARD, backendName, kernelFunc: forwardKernel(addon, backendName) as never });
    tf.registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backwardKernel(addon, backendName) as never });
  }
  tf.registerGradient({
    kernelName: FORWARD,
    inputsToSave: ['x', 'weight'],
    gradFunc: (dy, saved, attrs) => {
      const [x, weight] = saved as [tf.Tensor, tf.Tensor];
      // One backward kernel gives both gradients. It runs here, not inside the closures: the
      // engine runs each closure in its own tidy, which would dispose the gradient not returned.
      const [dx, dw] = tf.engine().runKernel(BACKWARD, { dy: dy as tf.Tensor, x, weight }, attrs as never) as [
        tf.Tensor,
        tf.Tensor,
      ];
      return { x: () => dx, weight: () => dw };
    },
  });
  return addon;
}

/** Whether rmsNorm(x, weight) runs as the fused kernel here: wasm or cpu, the addon, float32, weight [d]. */
export function fusedRmsNormRuns(x: tf.Tensor, weight: tf.Tensor): boolean {
  return (
    BACKENDS.includes(tf.getBackend()) &&
    nativeKernelsEnabled(FUSED_RMS_NORM) &&
    x.dtype === 'float32' &&
    weight.dtype === 'float32' &&
    x.rank >= 1 &&
    weight.rank === 1 &&
    weight.shape[0] === x.shape[x.rank - 1] &&
    x.size > 0 &&
    register() !== null
  );
}

/** x / sqrt(mean(x²) + eps) · weight over the last axis, as one kernel; call when fusedRmsNormRuns. */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.engine().runKernel(FORWARD, { x, weight }, { eps } as never) as tf.Tensor;
}
