// Shared by the backbone plugins' parity tests: runs our decoder on a fixture written by
// scripts/make-hf-fixtures.py and measures it against the PyTorch reference outputs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  tf,
  loadHFBackbone,
  SafetensorsFile,
  generateGreedy,
  disposeCache,
  type BackboneFamily,
  type Decoder,
} from '@kava/core/internal';
import { REPO } from './helpers.js';

export interface Reference {
  dir: string;
  ids: number[][];
  mask: number[][];
  positions: number[][];
  generation: { prompt: number[]; greedy: number[] };
  tensors: SafetensorsFile;
}

export function openReference(fixture: string): Reference {
  const dir = join(REPO, 'test/fixtures', fixture);
  const json = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  return {
    dir,
    ids: json.input_ids,
    mask: json.attention_mask,
    positions: json.position_ids,
    generation: json.generation,
    tensors: SafetensorsFile.open(join(dir, 'reference.safetensors')),
  };
}

/**
 * max |ours - ref| / max |ref| over the entries of real (unpadded) positions: `batchAxis` and
 * `seqAxis` say where the example and the (query) position are in the shape.
 */
export function maskedRelativeError(ours: tf.Tensor, ref: Float32Array, mask: number[][], seqAxis: number): number {
  const a = ours.dataSync();
  const shape = ours.shape;
  if (a.length !== ref.length) throw new Error(`size ${a.length} vs reference ${ref.length}`);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const b = Math.floor(i / strides[0]!) % shape[0]!;
    const s = Math.floor(i / strides[seqAxis]!) % shape[seqAxis]!;
    if (mask[b]![s] === 0) continue;
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - ref[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxDiff / maxRef;
}

/** Every measured relative error of one fixture, by name. */
export function measureParity(fixture: string, family: BackboneFamily): Record<string, number> {
  const ref = openReference(fixture);
  const { backbone } = loadHFBackbone(ref.dir, [family]);
  const errors: Record<string, number> = {};
  try {
    tf.tidy(() => {
      const ids = tf.tensor2d(ref.ids, undefined, 'int32');
      const mask = tf.tensor2d(ref.mask);
      const positions = tf.tensor2d(ref.positions, undefined, 'int32');
      const [B, S] = ids.shape;
      const allRows = tf.tensor2d(
        Array.from({ length: B }, () => Array.from({ length: S }, (_, i) => i)),
        undefined,
        'int32',
      );
      const out = backbone.forward({
        inputIds: ids,
        attentionMask: mask,
        positionIds: positions,
        kv: 'post-rope',
        hidden: true,
        attentionRows: allRows,
      });
      errors.logits = maskedRelativeError(out.logits!, ref.tensors.read('logits'), ref.mask, 1);
      out.hidden!.forEach(
        (h, i) => (errors[`hidden.${i}`] = maskedRelativeError(h, ref.tensors.read(`hidden.${i}`), ref.mask, 1)),
      );
      for (let l = 0; l < backbone.config.numLayers; l++) {
        errors[`keys.${l}`] = maskedRelativeError(out.keys![l]!, ref.tensors.read(`keys.${l}`), ref.mask, 2);
        errors[`values.${l}`] = maskedRelativeError(out.values![l]!, ref.tensors.read(`values.${l}`), ref.mask, 2);
        errors[`attention.${l}`] = maskedRelativeError(
          out.attention![l]!,
          ref.tensors.read(`attention.${l}`),
          ref.mask,
          2,
        );
      }
      const pre = backbone.forward({
        inputIds: ids,
        attentionMask: mask,
        positionIds: positions,
        kv: 'pre-rope',
        logits: false,
      });
      for (let l = 0; l < backbone.config.numLayers; l++)
        errors[`keys_pre.${l}`] = maskedRelativeError(pre.keys![l]!, ref.tensors.read(`keys_pre.${l}`), ref.mask, 2);
      // Default positions follow the mask, as the reference's do; input embeddings give the same.
      const byDefault = backbone.forward({ inputEmbeds: backbone.embed(ids), attentionMask: mask });
      errors['logits (embeds, default positions)'] = maskedRelativeError(
        byDefault.logits!,
        ref.tensors.read('logits'),
        ref.mask,
        1,
      );
    });
  } finally {
    ref.tensors.close();
    backbone.dispose();
  }
  return errors;
}

/** Greedy generation of the reference prompt with and without the cache. */
export function greedyBothWays(
  fixture: string,
  family: BackboneFamily,
): { cached: number[]; uncached: number[]; reference: number[]; passes: number } {
  const ref = openReference(fixture);
  ref.tensors.close();
  const { backbone } = loadHFBackbone(ref.dir, [family]);
  try {
    const prompt = tf.tensor2d([ref.generation.prompt], undefined, 'int32');
    const n = ref.generation.greedy.length;
    const cached = generateGreedy(backbone, { inputIds: prompt, maxNewTokens: n });
    const uncached = generateGreedy(backbone, { inputIds: prompt, maxNewTokens: n, useCache: false });
    prompt.dispose();
    return {
      cached: cached.tokens[0]!,
      uncached: uncached.tokens[0]!,
      reference: ref.generation.greedy,
      passes: cached.forwardPasses,
    };
  } finally {
    backbone.dispose();
  }
}

/** Logits of a prefix pass + a continuation over the cache, against one pass over everything. */
export function incrementalError(decoder: Decoder, ids: number[][], mask: number[][], split: number): number {
  return tf.tidy(() => {
    const all = tf.tensor2d(ids, undefined, 'int32');
    const m = tf.tensor2d(mask);
    const [B, S] = all.shape;
    const full = decoder.forward({ inputIds: all, attentionMask: m });
    const first = decoder.forward({
      inputIds: all.slice([0, 0], [B, split]),
      attentionMask: m.slice([0, 0], [B, split]),
      returnCache: true,
    });
    const second = decoder.forward({
      inputIds: all.slice([0, split], [B, S - split]),
      attentionMask: m.slice([0, split], [B, S - split]),
      cache: first.cache,
    });
    disposeCache(first.cache);
    const joined = tf.concat([first.logits!, second.logits!], 1);
    return maskedRelativeError(joined, full.logits!.dataSync() as Float32Array, mask, 1);
  });
}
