import { tf } from '../tf.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import type { LatentReading } from '../eval/strategy.js';
import type { LatentPass } from './rollout.js';

interface RecordedPass {
  first: number;
  m: number;
  ids: Int32Array;
  probs: Float32Array;
  inputs: Float32Array;
}

/**
 * Records the latent passes of a student rollout (`StudentOptions.observe`) and turns them into
 * readings per question. Reads each pass's top-k and inputs at once, so nothing outlives the pass.
 */
export class LatentRecorder {
  private readonly passes: RecordedPass[] = [];
  private width = 0;
  constructor(private readonly topK = 3) {}

  readonly observe = (pass: LatentPass): void => {
    const [, m, D] = pass.inputs.shape as [number, number, number];
    this.width = D;
    const { values, indices } = tf.topk(tf.softmax(pass.logits), this.topK);
    this.passes.push({
      first: pass.first,
      m,
      ids: indices.dataSync() as Int32Array,
      probs: values.dataSync() as Float32Array,
      inputs: Float32Array.from(pass.inputs.dataSync()),
    });
    tf.dispose([values, indices]);
  };

  /** The readings of question `b` of the batch, latent by latent. */
  readings(tokenizer: Tokenizer, b: number): LatentReading[] {
    const byLatent = new Map<number, { passes: LatentReading['passes']; inputs: Float32Array[] }>();
    const K = this.topK;
    const D = this.width;
    for (const p of this.passes) {
      for (let i = 0; i < p.m; i++) {
        const slot = byLatent.get(p.first + i) ?? { passes: [], inputs: [] };
        const at = (b * p.m + i) * K;
        slot.passes.push({
          top: Array.from({ length: K }, (_, k) => {
            const id = p.ids[at + k]!;
            return { token: tokenizer.decode([id], { skipSpecialTokens: false }), id, p: p.probs[at + k]! };
          }),
        });
        slot.inputs.push(p.inputs.subarray((b * p.m + i) * D, (b * p.m + i + 1) * D));
        byLatent.set(p.first + i, slot);
      }
    }
    return [...byLatent.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([index, slot]) => ({
        latent: index + 1,
        passes: slot.passes,
        inputChange: slot.inputs.slice(1).map((v, t) => relativeChange(slot.inputs[t]!, v)),
      }));
  }
}

function relativeChange(before: Float32Array, after: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < before.length; i++) {
    diff += (after[i]! - before[i]!) ** 2;
    norm += before[i]! ** 2;
  }
  return norm === 0 ? 0 : Math.sqrt(diff / norm);
}
