import { tf } from '../tf.js';
import { KavaError } from '../errors.js';
import type { Backbone, DecoderConfig, ForwardRequest, ForwardResult, KVCache } from '../contracts/backbone.js';
import { applyRotary, inverseFrequencies, rotaryTables } from './rope.js';
import {
  allVariables,
  buildWeights,
  frozenMatrices,
  namedVariables,
  parameterSpecs,
  randomSource,
  type DecoderLayer,
  type DecoderWeights,
  type Linear,
  type WeightSource,
} from './weights.js';
import { FrozenMatrix, frozenMatMul, frozenRows } from '../runtime/frozen-matrix.js';
import { attentionProbs } from '../runtime/fused-attention-softmax.js';
import { rmsNorm } from '../runtime/fused-rms-norm.js';
import { swiglu } from '../runtime/fused-swiglu.js';
import { LoraAdapters, linearForward, type LoraOptions } from './lora.js';
import { deriveSeed } from '../util/rng.js';

/** Added to the attention logits of masked keys; finite so a fully padded row cannot give NaN. */
const MASKED = -1e9;

/**
 * The one decoder shared by the Llama-3 and Qwen2 families (they differ only in config flags):
 *
 *   h = embed(ids)                                       or the given input embeddings
 *   for each layer:
 *     x = RMSNorm(h);  q, k, v = x·Wq (+bq), x·Wk (+bk), x·Wv (+bv)      split into heads
 *     q, k = RoPE(q), RoPE(k)                             (llama3 frequency scaling if set)
 *     h = h + softmax(q·kᵀ/√d + causal/padding mask)·v ·Wo   (GQA: H/H_kv query heads per KV head)
 *     h = h + W_down(silu(RMSNorm(h)·W_gate) ⊙ RMSNorm(h)·W_up)
 *   logits = RMSNorm(h)·W_head                            (W_head = embedᵀ when tied)
 *
 * Everything the KaVa trainer reads (K/V per layer, hidden states, queries and attention rows)
 * is produced only when the request asks for it. Token rows added by `resizeVocab` live in
 * their own variables, so they train while a LoRA run keeps the original table frozen.
 */
export class Decoder implements Backbone {
  private readonly base: DecoderConfig;
  /** The parameters (read-only for callers; `resizeVocab` may replace the table variables). */
  readonly weights: DecoderWeights;
  /** [added, H] trainable token rows from `baseVocabSize` on (also the head's when tied). */
  private addedEmbed: tf.Variable | null = null;
  /** [H, added] untied head columns for the added rows. */
  private addedHead: tf.Variable | null = null;
  private lora: LoraAdapters | null = null;
  /** "full": every weight trains; "adapters": only LoRA adapters and added rows. */
  private mode: 'full' | 'adapters' = 'full';
  private readonly invFreq: tf.Tensor;
  /** Resizes so far: each one draws its new rows from its own seeds. */
  private resizes = 0;

  constructor(config: DecoderConfig, source: WeightSource) {
    checkConfig(config);
    this.base = { ...config };
    this.weights = buildWeights(config, source);
    this.invFreq = tf.keep(tf.tensor1d(inverseFrequencies(config)));
  }

  /** A randomly initialised decoder (Hugging Face's init, seeded). */
  static random(config: DecoderConfig, seed = 0): Decoder {
    return new Decoder(config, randomSource(seed));
  }

  get config(): DecoderConfig {
    return { ...this.base, vocabSize: this.vocabSize };
  }

  /** Rows of the frozen base table: ids below it use the checkpoint's rows; from it on, the added rows. */
  get baseVocabSize(): number {
    return this.base.vocabSize;
  }

  get vocabSize(): number {
    return this.base.vocabSize + (this.addedEmbed?.shape[0] ?? 0);
  }

  /** The LoRA adapters, when attached. */
  get adapters(): LoraAdapters | null {
    return this.lora;
  }

  /** The trainable rows added by `resizeVocab`: embedding [added, H] and untied head [H, added]. */
  get addedRows(): { embed: tf.Variable | null; head: tf.Variable | null } {
    return { embed: this.addedEmbed, head: this.addedHead };
  }

  // ---------------------------------------------------------------- embeddings and vocabulary

  embed(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const int = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
      const table = this.weights.embed;
      const baseRows = (i: tf.Tensor) => (table instanceof FrozenMatrix ? frozenRows(table, i) : tf.gather(table, i));
      if (this.addedEmbed === null) return baseRows(int);
      // Gather from each table and pick: concatenating a 128k-row table per step would cost more.
      const V0 = this.base.vocabSize;
      const i32 = (n: number) => tf.scalar(n, 'int32'); // a bare number would make the ids float
      const fromBase = baseRows(tf.minimum(int, i32(V0 - 1)));
      const fromAdded = tf.gather(this.addedEmbed, tf.maximum(tf.sub(int, i32(V0)), i32(0)));
      const isAdded = tf.expandDims(tf.greaterEqual(int, i32(V0)), -1);
      return tf.where(tf.broadcastTo(isAdded, fromBase.shape), fromAdded, fromBase);
    });
  }

  /**
   * Grows the vocabulary to `vocabSize` rows and makes the rows from `firstNewId` on (default:
   * the current size) trainable token rows. Rows beyond the current table start at the mean of
   * the existing embeddings plus noise (std 0.02) drawn from `seed`, as Hugging Face's resize does.
   * `firstNewId` below the table size covers checkpoints whose table is padded past the
   * tokenizer (Qwen2.5: 151936 rows for 151665 tokens): the special tokens added to the tokenizer
   * land in the padding, and those rows (keeping their checkpoint values) must train too.
   */
  resizeVocab(vocabSize: number, firstNewId?: number, seed = 0): void {
    const current = this.vocabSize;
    if (!Number.isInteger(vocabSize) || vocabSize < current) {
      throw new KavaError(`resizeVocab: can only grow the vocabulary (now ${current} rows), got ${vocabSize}`);
    }
    const from = firstNewId ?? current;
    if (!Number.isInteger(from) || from < 0 || from > current)
      throw new KavaError(`resizeVocab: firstNewId must be an integer in [0, ${current}], got ${firstNewId}`);
    if (from < this.base.vocabSize) this.moveRowsToAdded(from);
    const n = vocabSize - current;
    if (n === 0) return;
    const resize = this.resizes++;
    const noiseSeed = (site: number) => deriveSeed(seed, resize, site);
    tf.tidy(() => {
      const H = this.base.hiddenSize;
      const mean = rowMean(this.weights.embed, 'rows');
      this.addedEmbed = replaceVariable(
        this.addedEmbed,
        tf.add(mean, tf.randomNormal([n, H], 0, 0.02, 'float32', noiseSeed(0))),
        0,
      );
      if (this.weights.lmHead) {
        const headMean = rowMean(this.weights.lmHead.weight, 'columns');
        this.addedHead = replaceVariable(
          this.addedHead,
          tf.add(headMean, tf.randomNormal([H, n], 0, 0.02, 'float32', noiseSeed(1))),
          1,
        );
      }
    });
  }

  /** Splits the checkpoint table at `from`: rows from there on become trainable added rows. */
  private moveRowsToAdded(from: number): void {
    const V0 = this.base.vocabSize;
    const H = this.base.hiddenSize;
    tf.tidy(() => {
      const embed = this.weights.embed;
      if (embed instanceof FrozenMatrix) {
        this.addedEmbed = replaceVariable(this.addedEmbed, embed.rowsTensor(from, V0), 0, true);
        this.weights.embed = embed.topRows(from);
      } else {
        this.addedEmbed = replaceVariable(this.addedEmbed, tf.slice(embed, [from, 0], [V0 - from, H]), 0, true);
        this.weights.embed = tf.variable(tf.slice(embed, [0, 0], [from, H]), embed.trainable);
      }
      embed.dispose();
      const head = this.weights.lmHead;
      if (head) {
        const w = head.weight;
        if (w instanceof FrozenMatrix) {
          // HF layout [V, H]: the added head columns are the transposed rows.
          this.addedHead = replaceVariable(this.addedHead, tf.transpose(w.rowsTensor(from, V0)), 1, true);
          head.weight = w.topRows(from);
        } else {
          this.addedHead = replaceVariable(this.addedHead, tf.slice(w, [0, from], [H, V0 - from]), 1, true);
          head.weight = tf.variable(tf.slice(w, [0, 0], [H, from]), w.trainable);
        }
        w.dispose();
      }
    });
    this.base.vocabSize = from;
  }

  /**
   * Sets the added rows from a checkpoint: `embed` [n, H] and, for an untied head, `head`
   * [n, H] (HF layout); n must be the number of added rows (`resizeVocab` first).
   */
  setAddedRows(embed: tf.Tensor, head: tf.Tensor | null): void {
    const n = this.vocabSize - this.base.vocabSize;
    if (embed.shape[0] !== n || this.addedEmbed === null)
      throw new KavaError(`setAddedRows: the model has ${n} added rows, got ${embed.shape[0]}`);
    this.addedEmbed.assign(embed);
    if (this.addedHead) {
      if (head === null)
        throw new KavaError('setAddedRows: this model has an untied head; its added rows are required');
      tf.tidy(() => this.addedHead!.assign(tf.transpose(head)));
    }
  }

  /**
   * The effective weights as a Hugging Face checkpoint: HF names and layouts, LoRA adapters
   * folded in, added rows appended to the embedding table and untied head. Each entry reads its
   * values on demand so a large model is written one tensor at a time.
   */
  checkpointTensors(): {
    name: string;
    shape: number[];
    /** The tensor's values, computed when asked. */
    read: () => Float32Array;
  }[] {
    const vars = namedVariables(this.weights);
    const frozen = frozenMatrices(this.weights);
    const lmPath = this.weights.lmHead?.path;
    // A weight as the decoder holds it: variables [in, out]; frozen matrices (HF layout) transposed to match.
    const held = (name: string): tf.Tensor => {
      const m = frozen.get(name);
      return m ? tf.transpose(m.rowsTensor(0, m.rows)) : vars.get(name)!;
    };
    return parameterSpecs(this.config).map((spec) => ({
      name: spec.name,
      shape: spec.shape,
      read: () => {
        const t = tf.tidy(() => {
          if (spec.name === 'model.embed_tokens.weight') {
            const table =
              this.weights.embed instanceof FrozenMatrix
                ? this.weights.embed.rowsTensor(0, this.weights.embed.rows)
                : this.weights.embed;
            return this.addedEmbed ? tf.concat([table, this.addedEmbed], 0) : tf.clone(table);
          }
          if (spec.kind !== 'linear') return tf.clone(vars.get(spec.name)!);
          const path = spec.name.slice(0, -'.weight'.length);
          let w: tf.Tensor = held(spec.name);
          const ad = this.lora?.byPath.get(path);
          if (ad) w = tf.add(w, tf.mul(tf.matMul(ad.a, ad.b), ad.scale));
          if (path === lmPath && this.addedHead) w = tf.concat([w, this.addedHead], 1);
          return tf.transpose(w);
        });
        const data = t.dataSync() as Float32Array;
        t.dispose();
        return data;
      },
    }));
  }

  // ------------------------------------------------------------------------------- training

  /**
   * Attaches fresh LoRA adapters and freezes the base weights: from now on only the adapters
   * and the added token rows train.
   */
  attachLora(options: LoraOptions): LoraAdapters {
    if (this.lora !== null) throw new KavaError('attachLora: this decoder already has LoRA adapters');
    this.lora = LoraAdapters.create(this.weights, options);
    this.setMode('adapters');
    return this.lora;
  }

  /** Replaces the adapters (used when loading a saved adapter). */
  setAdapters(adapters: LoraAdapters): void {
    this.lora?.dispose();
    this.lora = adapters;
    this.setMode('adapters');
  }

  /** Folds the adapters into the base weights for inference; the base stays frozen. */
  mergeLora(): void {
    if (this.lora === null) throw new KavaError('mergeLora: this decoder has no LoRA adapters');
    this.lora.mergeInto(this.weights);
    this.lora = null;
  }

  private setMode(mode: 'full' | 'adapters'): void {
    this.mode = mode;
    for (const v of allVariables(this.weights)) v.trainable = mode === 'full';
  }

  trainableVariables(): tf.Variable[] {
    const added = [this.addedEmbed, this.addedHead].filter((v): v is tf.Variable => v !== null);
    if (this.mode === 'full') return [...allVariables(this.weights), ...added];
    return [...(this.lora?.variables() ?? []), ...added];
  }

  /** Whether the base weights are held frozen in native memory (see FrozenMatrix). */
  get nativeBase(): boolean {
    return this.weights.embed instanceof FrozenMatrix;
  }

  dispose(): void {
    for (const v of allVariables(this.weights)) v.dispose();
    for (const m of frozenMatrices(this.weights).values()) m.dispose();
    this.addedEmbed?.dispose();
    this.addedHead?.dispose();
    this.lora?.dispose();
    this.invFreq.dispose();
  }

  // -------------------------------------------------------------------------------- forward

  /** One forward pass: what `request` asks for, and nothing more (Backbone.forward). */
  forward(request: ForwardRequest): ForwardResult {
    const { inputIds, inputEmbeds, cache } = request;
    if ((inputIds === undefined) === (inputEmbeds === undefined)) {
      throw new KavaError('forward: give exactly one of inputIds [B, S] and inputEmbeds [B, S, hidden]');
    }
    const cfg = this.base;
    if (inputEmbeds !== undefined && (inputEmbeds.rank !== 3 || inputEmbeds.shape[2] !== cfg.hiddenSize)) {
      throw new KavaError(`forward: inputEmbeds must be [B, S, ${cfg.hiddenSize}], got [${inputEmbeds.shape}]`);
    }
    if (inputIds !== undefined && inputIds.rank !== 2)
      throw new KavaError(`forward: inputIds must be [B, S], got [${inputIds.shape}]`);
    const [B, S] = (inputIds ?? inputEmbeds)!.shape as [number, number];
    for (const [name, t] of [
      ['attentionMask', request.attentionMask],
      ['positionIds', request.positionIds],
    ] as const) {
      if (t !== undefined && (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== S))
        throw new KavaError(`forward: ${name} must be [${B}, ${S}], got [${t.shape}]`);
    }
    if (cache !== undefined && (cache.mask.shape[0] !== B || cache.keys.length !== cfg.numLayers)) {
      throw new KavaError(
        `forward: the cache holds batch ${cache.mask.shape[0]} and ${cache.keys.length} layers; expected batch ${B} and ${cfg.numLayers} layers`,
      );
    }
    const headMask = cache?.headMask;
    const headShape = cache && [B, cfg.numKvHeads, cache.length].join();
    if (headMask && (headMask.length !== cfg.numLayers || headMask.some((m) => m.shape.join() !== headShape)))
      throw new KavaError(
        `forward: the cache's headMask must be ${cfg.numLayers} tensors [${headShape}], got ${headMask.length}: [${headMask[0]?.shape}]`,
      );
    const rows = request.attentionRows;
    if (rows !== undefined && (rows.rank !== 2 || rows.shape[0] !== B))
      throw new KavaError(`forward: attentionRows must be [${B}, Q], got [${rows.shape}]`);

    return tf.tidy(() => {
      const training = request.training ?? false;
      const H = cfg.numHeads;
      const Hkv = cfg.numKvHeads;
      const d = cfg.headDim;
      const G = H / Hkv;
      const P = cache?.length ?? 0;
      const T = P + S;
      const newMask = request.attentionMask ? tf.cast(request.attentionMask, 'float32') : tf.ones([B, S]);
      const keyMask = cache ? tf.concat([tf.cast(cache.mask, 'float32'), newMask], 1) : newMask;
      const positions = request.positionIds ?? defaultPositions(cache?.mask ?? null, newMask);
      const { cos, sin } = rotaryTables(positions, this.invFreq);
      // A cache whose heads hold different entries masks per layer and KV head; else one mask serves all.
      const held = cache?.headMask ? tf.reshape(tf.cast(cache.mask, 'float32'), [B, 1, P]) : null;
      const newHeads = held ? tf.tile(tf.reshape(newMask, [B, 1, S]), [1, Hkv, 1]) : null;
      const headKeyMask = (l: number): tf.Tensor => tf.concat([tf.mul(cache!.headMask![l]!, held!), newHeads!], 2);
      const sharedBias = held ? null : attentionBias(keyMask, P, S);
      const rowIndex = rows ? tf.cast(rows, 'int32') : null;

      // Each adapter call of the pass derives its dropout seed from request.seed and its index.
      let linearIndex = 0;
      const linear = (l: Linear, x2d: tf.Tensor): tf.Tensor => {
        linearIndex++;
        if (!this.lora) return linearForward(l, x2d);
        return this.lora.apply(
          l,
          x2d,
          training,
          request.seed === undefined ? undefined : deriveSeed(request.seed, linearIndex),
        );
      };
      const heads = (x2d: tf.Tensor, n: number) => tf.transpose(tf.reshape(x2d, [B, S, n, d]), [0, 2, 1, 3]);

      let h = inputEmbeds ?? this.embed(inputIds!);
      const result: ForwardResult = {};
      const hidden: tf.Tensor[] = [h];
      const keysOut: tf.Tensor[] = [];
      const valuesOut: tf.Tensor[] = [];
      const queriesOut: tf.Tensor[] = [];
      const attentionOut: tf.Tensor[] = [];
      const cacheKeys: tf.Tensor[] = [];
      const cacheValues: tf.Tensor[] = [];
      const cacheHeadMask: tf.Tensor[] = [];

      this.weights.layers.forEach((layer: DecoderLayer, l: number) => {
        const p = layer.proj;
        const x = tf.reshape(rmsNorm(h, layer.inputNorm, cfg.rmsNormEps), [B * S, cfg.hiddenSize]);
        const k = heads(linear(p.k_proj, x), Hkv);
        const v = heads(linear(p.v_proj, x), Hkv);
        const q = applyRotary(heads(linear(p.q_proj, x), H), cos, sin);
        const kRot = applyRotary(k, cos, sin);
        const kAll = cache ? tf.concat([cache.keys[l]!, kRot], 2) : kRot;
        const vAll = cache ? tf.concat([cache.values[l]!, v], 2) : v;
        // GQA without copying K/V: the G query heads of a KV head become G·S rows of one matmul.
        const scores = tf.matMul(tf.reshape(q, [B, Hkv, G * S, d]), kAll, false, true);
        const layerKeyMask = sharedBias ? null : headKeyMask(l);
        const bias = sharedBias ?? attentionBias(layerKeyMask!, P, S);
        const probs = attentionProbs(tf.reshape(scores, [B, Hkv, G, S, T]), bias, 1 / Math.sqrt(d));
        const context = tf.matMul(tf.reshape(probs, [B, Hkv, G * S, T]), vAll);
        const merged = tf.reshape(tf.transpose(tf.reshape(context, [B, H, S, d]), [0, 2, 1, 3]), [B * S, H * d]);
        h = tf.add(h, tf.reshape(linear(p.o_proj, merged), [B, S, cfg.hiddenSize]));

        const y = tf.reshape(rmsNorm(h, layer.postNorm, cfg.rmsNormEps), [B * S, cfg.hiddenSize]);
        const gate = linear(p.gate_proj, y);
        const act = swiglu(gate, linear(p.up_proj, y)); // SwiGLU: silu(gate)·up
        h = tf.add(h, tf.reshape(linear(p.down_proj, act), [B, S, cfg.hiddenSize]));

        if (request.kv) {
          keysOut.push(request.kv === 'pre-rope' ? k : kRot);
          valuesOut.push(v);
        }
        if (request.returnCache) {
          cacheKeys.push(kAll);
          cacheValues.push(vAll);
          if (layerKeyMask) cacheHeadMask.push(layerKeyMask);
        }
        if (rowIndex) {
          queriesOut.push(gatherRows(q, rowIndex));
          attentionOut.push(gatherRows(tf.reshape(probs, [B, H, S, T]), rowIndex));
        }
        if (request.hidden && l < cfg.numLayers - 1) hidden.push(h);
      });

      const final = rmsNorm(h, this.weights.norm, cfg.rmsNormEps);
      const wanted = request.logits ?? true;
      if (wanted === 'last') result.logits = this.head(tf.slice(final, [0, S - 1, 0], [B, 1, cfg.hiddenSize]));
      else if (wanted) result.logits = this.head(final);
      if (request.hidden) result.hidden = [...hidden, final];
      if (request.kv) {
        result.keys = keysOut;
        result.values = valuesOut;
      }
      if (rowIndex) {
        result.queries = queriesOut;
        result.attention = attentionOut;
      }
      if (request.returnCache)
        result.cache = {
          keys: cacheKeys,
          values: cacheValues,
          mask: keyMask,
          length: T,
          ...(cacheHeadMask.length ? { headMask: cacheHeadMask } : {}),
        };
      return result as tf.TensorContainer;
    }) as ForwardResult;
  }

  /** [B, S, H] final hidden states -> [B, S, V] logits (tied or untied head, added rows last). */
  private head(final: tf.Tensor): tf.Tensor {
    const [B, S, Hd] = final.shape as [number, number, number];
    const x = tf.reshape(final, [B * S, Hd]);
    const lm = this.weights.lmHead;
    const table = this.weights.embed;
    const parts = [
      lm
        ? linearForward(lm, x)
        : table instanceof FrozenMatrix
          ? frozenMatMul(x, table)
          : tf.matMul(x, table, false, true),
    ];
    if (lm && this.addedHead) parts.push(tf.matMul(x, this.addedHead));
    if (!lm && this.addedEmbed) parts.push(tf.matMul(x, this.addedEmbed, false, true));
    const logits = parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    return tf.reshape(logits, [B, S, -1]);
  }
}

/**
 * The mean row of an embedding table [V, H] (`rows`) or the mean column of a head [H, V] held as
 * a variable (`columns`), as a [1, H] / [H, 1] tensor; a frozen matrix is [V, H] either way.
 */
function rowMean(w: tf.Variable | FrozenMatrix, of: 'rows' | 'columns'): tf.Tensor {
  if (!(w instanceof FrozenMatrix)) return of === 'rows' ? tf.mean(w, 0, true) : tf.mean(w, 1, true);
  const sums = new Float64Array(w.cols);
  const data = w.data;
  for (let r = 0; r < w.rows; r++) {
    const off = r * w.cols;
    for (let c = 0; c < w.cols; c++) sums[c]! += data[off + c]!;
  }
  const mean = Float32Array.from(sums, (v) => v / w.rows);
  return of === 'rows' ? tf.tensor2d(mean, [1, w.cols]) : tf.tensor2d(mean, [w.cols, 1]);
}

/**
 * x [B, H, S, X], rows [B, Q] -> [B, H, Q, X]: per example, the chosen positions. A flat gather
 * on axis 0 (tf.gather with batchDims gives wrong results on the wasm backend in tfjs 4.22).
 */
function gatherRows(x: tf.Tensor, rows: tf.Tensor): tf.Tensor {
  const [B, H, S, X] = x.shape as [number, number, number, number];
  const Q = rows.shape[1]!;
  const flat = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B * S, H * X]);
  const index = tf.reshape(
    tf.add(rows, tf.reshape(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(S, 'int32')), [B, 1])),
    [B * Q],
  );
  return tf.transpose(tf.reshape(tf.gather(flat, index), [B, Q, H, X]), [0, 2, 1, 3]);
}

/** Mask-aware positions: each row continues after its real cached tokens, counting real new ones. */
function defaultPositions(cacheMask: tf.Tensor | null, newMask: tf.Tensor): tf.Tensor {
  const offset = cacheMask ? tf.sum(tf.cast(cacheMask, 'float32'), 1, true) : tf.scalar(0);
  return tf.cast(tf.maximum(tf.sub(tf.add(tf.cumsum(newMask, 1), offset), 1), 0), 'int32');
}

/**
 * [B, 1, 1, S, T] additive mask from a [B, T] key mask (or [B, H_kv, 1, S, T] from a per-head
 * [B, H_kv, T] one): 0 where new query i may see key j (real and j ≤ P + i).
 */
function attentionBias(keyMask: tf.Tensor, P: number, S: number): tf.Tensor {
  const [B, heads, T] = (keyMask.rank === 3 ? keyMask.shape : [keyMask.shape[0], 1, keyMask.shape[1]]) as number[] as [
    number,
    number,
    number,
  ];
  const causal = tf.cast(
    tf.lessEqual(tf.reshape(tf.range(0, T, 1, 'int32'), [1, T]), tf.reshape(tf.range(P, P + S, 1, 'int32'), [S, 1])),
    'float32',
  );
  const allowed = tf.mul(tf.reshape(keyMask, [B, heads, 1, T]), tf.reshape(causal, [1, 1, S, T]));
  return tf.reshape(tf.mul(tf.sub(1, allowed), MASKED), [B, heads, 1, S, T]);
}

/** The integer sizes of a decoder config (each must be positive). */
export const SIZE_FIELDS = [
  'vocabSize',
  'hiddenSize',
  'intermediateSize',
  'numLayers',
  'numHeads',
  'numKvHeads',
  'headDim',
] as const;

function checkConfig(c: DecoderConfig): void {
  for (const key of SIZE_FIELDS) {
    if (!Number.isInteger(c[key]) || c[key] < 1)
      throw new KavaError(`decoder config: ${key} must be a positive integer, got ${c[key]}`, { exitCode: 2 });
  }
  if (c.numHeads % c.numKvHeads !== 0)
    throw new KavaError(`decoder config: numHeads (${c.numHeads}) must be a multiple of numKvHeads (${c.numKvHeads})`, {
      exitCode: 2,
    });
  if (c.headDim % 2 !== 0)
    throw new KavaError(`decoder config: headDim must be even for RoPE, got ${c.headDim}`, { exitCode: 2 });
}

/**
 * A new trainable variable holding `old` (if any) followed by `rows` along `axis` (or `rows`
 * first when `prepend`); the old variable is disposed.
 */
function replaceVariable(old: tf.Variable | null, rows: tf.Tensor, axis: 0 | 1, prepend = false): tf.Variable {
  const parts = old ? (prepend ? [rows, old] : [old, rows]) : [rows];
  const next = tf.variable(parts.length === 1 ? rows : tf.concat(parts, axis), true);
  old?.dispose();
  return next;
}

/** Disposes every tensor of a cache. */
export function disposeCache(cache: KVCache | undefined | null): void {
  if (!cache) return;
  tf.dispose(cacheTensors(cache));
}

/** Every tensor a cache holds. */
export function cacheTensors(cache: KVCache): tf.Tensor[] {
  return [...cache.keys, ...cache.values, cache.mask, ...(cache.headMask ?? [])];
}
