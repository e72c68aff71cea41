import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_ENABLE_HINT } from '@kava/core/internal';
import { REPO } from './helpers.js';

// Without the addon (not built, or KAVA_NATIVE=off) the stock kernels run, and the backend line
// says so with the command that enables the fast path. Runs the built package in a child
// process, since the addon is loaded once per process.
const DIST = join(REPO, 'packages/kava-core/dist/internal.js');
const maybe = existsSync(DIST) ? it : it.skip;

describe('without the native addon', () => {
  maybe('initBackend("wasm") uses the stock kernels, says how to enable the fast path, and trains', () => {
    const script = `
      const { initBackend, tf, nativeKernels } = await import(${JSON.stringify(DIST)});
      const info = await initBackend('wasm');
      const a = tf.tensor3d([[[1, 2], [3, 4]]]), b = tf.tensor3d([[[5, 6], [7, 8]]]);
      const product = Array.from(tf.matMul(a, b, false, true).dataSync());
      const table = tf.tensor2d([[1, 1], [2, 2], [3, 3]]);
      const grad = Array.from(tf.grad((t) => tf.sum(tf.gather(t, tf.tensor1d([2, 2, 0], 'int32'))))(table).dataSync());
      console.log(JSON.stringify({ description: info.description, kernels: nativeKernels.wasm, product, grad }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, KAVA_NATIVE: 'off' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      description: string;
      kernels: string[];
      product: number[];
      grad: number[];
    };
    expect(out.description).toContain(
      `stock matmul kernels (KAVA_NATIVE=off; enable the fast path: ${NATIVE_ENABLE_HINT})`,
    );
    expect(out.kernels).toEqual(['UnsortedSegmentSum', 'GatherV2', 'Identity']); // no addon: no matmul kernels
    expect(out.product).toEqual([17, 23, 39, 53]);
    expect(out.grad).toEqual([1, 1, 0, 0, 2, 2]);
  });

  it('the build step exits 0 with a one-line reason and the same hint when it does not build', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'packages/kava-core/scripts/build-native.mjs')], {
      env: { ...process.env, KAVA_NATIVE: 'off' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      'kava native: not built (KAVA_NATIVE=off); using the stock tfjs kernels. ' +
        `Enable the fast path: ${NATIVE_ENABLE_HINT}\n`,
    );
    // The hint must work in a user's project, not only in this repository.
    expect(NATIVE_ENABLE_HINT).not.toMatch(/npm run/);
  });
});
