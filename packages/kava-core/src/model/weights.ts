import { tf } from '../tf.js';
import { Rng } from '../util/rng.js';
import { FrozenMatrix } from '../runtime/frozen-matrix.js';
import type { DecoderConfig } from '../contracts/backbone.js';

/**
 * The decoder's parameters under their Hugging Face names. One list (`parameterSpecs`) says
 * which tensors a config has and their shapes in the checkpoint's layout; loading, random
 * initialisation, strict validation, saving and parameter counting all walk it.
 */

/** How a checkpoint tensor is initialised and stored. Linear weights are [out, in] in HF files. */
export type ParameterKind = 'embedding' | 'linear' | 'bias' | 'norm';

export interface ParameterSpec {
  name: string;
  /** Shape in the checkpoint (HF layout). */
  shape: number[];
  kind: ParameterKind;
}

/** The projections LoRA can target, in PEFT's module names. */
export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

/** Every checkpoint tensor of `config`, in a fixed order. */
export function parameterSpecs(config: DecoderConfig): ParameterSpec[] {
  const { hiddenSize: H, intermediateSize: I, numHeads, numKvHeads, headDim, vocabSize: V } = config;
  const out: ParameterSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, H], kind: 'embedding' }];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    out.push({ name: `${p}input_layernorm.weight`, shape: [H], kind: 'norm' });
    for (const [proj, rows] of [
      ['q_proj', numHeads * headDim],
      ['k_proj', numKvHeads * headDim],
      ['v_proj', numKvHeads * headDim],
    ] as const) {
      out.push({ name: `${p}self_attn.${proj}.weight`, shape: [rows, H], kind: 'linear' });
      if (config.attentionBias) out.push({ name: `${p}self_attn.${proj}.bias`, shape: [rows], kind: 'bias' });
    }
    out.push({ name: `${p}self_attn.o_proj.weight`, shape: [H, numHeads * headDim], kind: 'linear' });
    out.push({ name: `${p}post_attention_layernorm.weight`, shape: [H], kind: 'norm' });
    out.push({ name: `${p}mlp.gate_proj.weight`, shape: [I, H], kind: 'linear' });
    out.push({ name: `${p}mlp.up_proj.weight`, shape: [I, H], kind: 'linear' });
    out.push({ name: `${p}mlp.down_proj.weight`, shape: [H, I], kind: 'linear' });
  }
  out.push({ name: 'model.norm.weight', shape: [H], kind: 'norm' });
  if (!config.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, H], kind: 'linear' });
  return out;
}

/** Number of scalars in the checkpoint of `config`. */
export function countParameters(config: DecoderConfig): number {
  return parameterSpecs(config).reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * A linear layer y = x·W (+ b). A tfjs `weight` is stored [in, out] (the transpose of HF's) so
 * the forward matmul needs no transpose, which the wasm backend's fast path requires; a frozen
 * base weight held in native memory (`FrozenMatrix`) stays in HF's layout [out, in], as read.
 */
export interface Linear {
  /** HF module path, e.g. "model.layers.0.self_attn.q_proj". */
  path: string;
  weight: tf.Variable | FrozenMatrix;
  bias: tf.Variable | null;
}

/** [in, out] of a linear, whichever way its weight is held. */
export function linearDims(linear: Linear): [number, number] {
  const w = linear.weight;
  return w instanceof FrozenMatrix ? [w.cols, w.rows] : (w.shape as [number, number]);
}

export interface DecoderLayer {
  inputNorm: tf.Variable;
  postNorm: tf.Variable;
  proj: Record<ProjectionName, Linear>;
}

export interface DecoderWeights {
  /** [V, H] token embeddings (a FrozenMatrix when the base is held in native memory). */
  embed: tf.Variable | FrozenMatrix;
  layers: DecoderLayer[];
  /** [H] final RMSNorm. */
  norm: tf.Variable;
  /** Untied output head (weight [H, V]); null when tied to `embed`. */
  lmHead: Linear | null;
}

/**
 * Where weights come from. `read` returns a new tensor the builder owns: in the checkpoint's
 * layout (linear weights [out, in]) or, for `layout: "stored"`, already as the decoder stores
 * it ([in, out]) — a random initialiser draws i.i.d. values, so it skips the transpose.
 */
export interface WeightSource {
  layout: 'checkpoint' | 'stored';
  read(spec: ParameterSpec): tf.Tensor;
  /**
   * When given, linear weights and the embedding table are kept frozen in native memory in the
   * checkpoint's layout (see FrozenMatrix), read through this instead of `read`: the base of a
   * LoRA run too large for the backend's heap.
   */
  readFrozen?(spec: ParameterSpec): Float32Array;
}

/** Builds the weights from a source (a checkpoint or a random initialiser). */
export function buildWeights(config: DecoderConfig, source: WeightSource): DecoderWeights {
  const specs = new Map(parameterSpecs(config).map((s) => [s.name, s]));
  const takeMatrix = (name: string): tf.Variable | FrozenMatrix => {
    const spec = specs.get(name)!;
    if (source.readFrozen === undefined) return take(name);
    return new FrozenMatrix(spec.shape[0]!, spec.shape[1]!, source.readFrozen(spec));
  };
  const take = (name: string): tf.Variable => {
    const spec = specs.get(name)!;
    const t = source.read(spec);
    const stored = spec.kind === 'linear' && source.layout === 'checkpoint' ? tf.transpose(t) : t;
    const v = tf.variable(stored, true);
    stored.dispose();
    if (stored !== t) t.dispose();
    return v;
  };
  const linear = (path: string, withBias: boolean): Linear => ({
    path,
    weight: takeMatrix(`${path}.weight`),
    bias: withBias ? take(`${path}.bias`) : null,
  });
  const embed = takeMatrix('model.embed_tokens.weight');
  const layers: DecoderLayer[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const inputNorm = take(`${p}.input_layernorm.weight`);
    const q = linear(`${p}.self_attn.q_proj`, config.attentionBias);
    const k = linear(`${p}.self_attn.k_proj`, config.attentionBias);
    const v = linear(`${p}.self_attn.v_proj`, config.attentionBias);
    const o = linear(`${p}.self_attn.o_proj`, false);
    const postNorm = take(`${p}.post_attention_layernorm.weight`);
    const gate = linear(`${p}.mlp.gate_proj`, false);
    const up = linear(`${p}.mlp.up_proj`, false);
    const down = linear(`${p}.mlp.down_proj`, false);
    layers.push({
      inputNorm,
      postNorm,
      proj: { q_proj: q, k_proj: k, v_proj: v, o_proj: o, gate_proj: gate, up_proj: up, down_proj: down },
    });
  }
  const norm = take('model.norm.weight');
  const lmHead = config.tieWordEmbeddings ? null : linear('lm_head', false);
  return { embed, layers, norm, lmHead };
}

/**
 * Hugging Face's initialisation (`initializer_range` 0.02): normal weights and embeddings,
 * zero biases, unit norms. Seeded per tensor, so the same seed builds the same model.
 */
export function randomSource(seed: number, std = 0.02): WeightSource {
  const rng = new Rng(seed);
  return {
    layout: 'stored',
    read(spec) {
      if (spec.kind === 'norm') return tf.ones(spec.shape);
      if (spec.kind === 'bias') return tf.zeros(spec.shape);
      const shape = spec.kind === 'linear' ? [spec.shape[1]!, spec.shape[0]!] : spec.shape;
      return tf.randomNormal(shape, 0, std, 'float32', rng.seed());
    },
  };
}

/**
 * Every weight under its HF tensor name: variables (linear weights stored [in, out], i.e.
 * transposed) and, for a base held in native memory, frozen matrices (HF layout).
 */
function namedWeights(weights: DecoderWeights): Map<string, tf.Variable | FrozenMatrix> {
  const out = new Map<string, tf.Variable | FrozenMatrix>([['model.embed_tokens.weight', weights.embed]]);
  const linear = (l: Linear) => {
    out.set(`${l.path}.weight`, l.weight);
    if (l.bias) out.set(`${l.path}.bias`, l.bias);
  };
  for (const [i, layer] of weights.layers.entries()) {
    out.set(`model.layers.${i}.input_layernorm.weight`, layer.inputNorm);
    out.set(`model.layers.${i}.post_attention_layernorm.weight`, layer.postNorm);
    for (const proj of PROJECTIONS) linear(layer.proj[proj]);
  }
  out.set('model.norm.weight', weights.norm);
  if (weights.lmHead) linear(weights.lmHead);
  return out;
}

/** Every variable under its HF tensor name (frozen matrices are not variables: see `frozenMatrices`). */
export function namedVariables(weights: DecoderWeights): Map<string, tf.Variable> {
  return new Map([...namedWeights(weights)].filter((e): e is [string, tf.Variable] => !(e[1] instanceof FrozenMatrix)));
}

/** Every variable of the weights. */
export function allVariables(weights: DecoderWeights): tf.Variable[] {
  return [...namedVariables(weights).values()];
}

/** The weights held frozen in native memory, under their HF names (empty when all are variables). */
export function frozenMatrices(weights: DecoderWeights): Map<string, FrozenMatrix> {
  return new Map([...namedWeights(weights)].filter((e): e is [string, FrozenMatrix] => e[1] instanceof FrozenMatrix));
}
