import { tf, initBackend, Decoder } from '@kava/core/app';
import { tinyConfig } from './model-helpers.js';

/**
 * Training runs on the wasm backend, which lacks some gradient kernels (bridged to cpu): the
 * decoder's gradients there — through embeddings, added token rows, LoRA adapters and latent
 * input embeddings — must match the cpu backend's.
 */
function gradients(backend: 'cpu' | 'wasm'): Promise<Record<string, Float32Array>> {
  return initBackend(backend).then(() => {
    const model = Decoder.random(tinyConfig({ tieWordEmbeddings: true, attentionBias: true }), 11);
    model.resizeVocab(42);
    model.attachLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'down_proj'], seed: 5 });
    // Give B a value so the adapters' A gets a gradient too.
    tf.tidy(() =>
      model.adapters!.variables().forEach((v, i) => v.assign(tf.add(v, tf.mul(tf.onesLike(v), 0.01 * (i + 1))))),
    );
    const latent = tf.variable(tf.randomNormal([2, 2, 32], 0, 1, 'float32', 4));
    const ids = tf.tensor2d(
      [
        [41, 3, 7, 40],
        [5, 6, 41, 0],
      ],
      undefined,
      'int32',
    );
    const mask = tf.tensor2d([
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ]);
    const vars = [...model.trainableVariables(), latent];
    const names = ['A.q0', 'B.q0', 'A.d0', 'B.d0', 'A.q1', 'B.q1', 'A.d1', 'B.d1', 'added', 'latent'];
    const { value, grads } = tf.variableGrads(() => {
      const prefix = model.forward({ inputIds: ids, attentionMask: mask, returnCache: true });
      const out = model.forward({ inputEmbeds: latent, cache: prefix.cache, kv: 'post-rope' });
      return tf.add(tf.mean(tf.square(out.logits!)), tf.mean(out.keys![1]!)) as tf.Scalar;
    }, vars);
    const result: Record<string, Float32Array> = {};
    vars.forEach((v, i) => (result[names[i]!] = grads[v.name]!.dataSync() as Float32Array));
    tf.dispose([value, ...Object.values(grads), latent, ids, mask]);
    model.dispose();
    return result;
  });
}

test('decoder gradients on wasm match the cpu backend within 1e-4 relative error', async () => {
  const cpu = await gradients('cpu');
  const wasm = await gradients('wasm');
  expect(Object.keys(wasm)).toEqual(Object.keys(cpu));
  for (const [name, g] of Object.entries(cpu)) {
    const w = wasm[name]!;
    let diff = 0;
    let max = 0;
    g.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - w[i]!));
      max = Math.max(max, Math.abs(v));
    });
    expect([name, max > 0]).toEqual([name, true]);
    expect([name, diff / max < 1e-4]).toEqual([name, true]);
  }
  await tf.setBackend('cpu');
});
