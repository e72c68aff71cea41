import { ConfigError } from '../errors.js';
import type { BackboneFamily, DecoderConfig } from '../contracts/backbone.js';

/**
 * Families as data: Llama and Qwen2 checkpoints use the same config.json keys and differ in a
 * few facts (Qwen2 always has q/k/v bias; defaults for tying and norm eps). A family plugin
 * describes those facts and `defineFamily` builds the mapping both ways.
 */
export interface FamilyDescription {
  /** Family name, e.g. "llama". */
  name: string;
  /** config.json `model_type` values this family loads. */
  modelTypes: string[];
  /** config.json `architectures` written when saving. */
  architecture: string;
  /** Whether q/k/v have a bias: always (Qwen2) or as config.json `attention_bias` says (Llama). */
  qkvBias: 'always' | 'config';
  /** `tie_word_embeddings` when config.json omits it. */
  tieWordEmbeddingsDefault: boolean;
  /** Keys written in every saved config.json beyond the shared ones (e.g. Qwen2's sliding window off). */
  extraConfig?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/**
 * A backbone family from its description: how its Hugging Face `config.json` maps to a
 * DecoderConfig and back (the Llama and Qwen plugins are two such).
 */
export function defineFamily(desc: FamilyDescription): BackboneFamily {
  return {
    name: desc.name,
    modelTypes: [...desc.modelTypes],
    fromHFConfig: (json) => fromHFConfig(desc, json),
    toHFConfig: (config) => toHFConfig(desc, config),
  };
}

function fromHFConfig(desc: FamilyDescription, json: Json): DecoderConfig {
  const bad = (field: string, expected: string, got: unknown = json[field]): never => {
    throw new ConfigError(`config.json (${desc.name}): "${field}" must be ${expected}, got ${JSON.stringify(got)}`);
  };
  const int = (field: string, fallback?: number): number => {
    const v = json[field] ?? fallback;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(field, 'a positive integer');
  };
  const num = (field: string, fallback?: number): number => {
    const v = json[field] ?? fallback;
    return typeof v === 'number' && v > 0 ? v : bad(field, 'a positive number');
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = json[field] ?? fallback;
    return typeof v === 'boolean' ? v : bad(field, 'true or false');
  };
  if (typeof json.model_type !== 'string' || !desc.modelTypes.includes(json.model_type))
    bad('model_type', desc.modelTypes.map((t) => `"${t}"`).join(' or '));
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') bad('hidden_act', '"silu" (SwiGLU MLP)');
  if (json.mlp_bias === true) bad('mlp_bias', 'false (MLP biases are not supported)');
  if (json.use_sliding_window === true) bad('use_sliding_window', 'false (sliding-window attention is not supported)');
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const headDimDefault = Number.isInteger(hiddenSize / numHeads) ? hiddenSize / numHeads : undefined;
  return {
    family: desc.name,
    vocabSize: int('vocab_size'),
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads: int('num_key_value_heads', numHeads),
    headDim: int('head_dim', headDimDefault),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: ropeScaling(json.rope_scaling, bad),
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
    tieWordEmbeddings: bool('tie_word_embeddings', desc.tieWordEmbeddingsDefault),
    attentionBias: desc.qkvBias === 'always' ? true : bool('attention_bias', false),
  };
}

function ropeScaling(
  raw: unknown,
  bad: (field: string, expected: string, got?: unknown) => never,
): DecoderConfig['ropeScaling'] {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) return bad('rope_scaling', 'null or an object');
  const s = raw as Json;
  const type = s.rope_type ?? s.type;
  if (type === 'default') return null;
  if (type !== 'llama3') return bad('rope_scaling.rope_type', '"llama3" (the only supported scaling)', type);
  const get = (key: string): number => {
    const v = s[key];
    return typeof v === 'number' && v > 0 ? v : bad(`rope_scaling.${key}`, 'a positive number', v);
  };
  const scaling = {
    type: 'llama3' as const,
    factor: get('factor'),
    lowFreqFactor: get('low_freq_factor'),
    highFreqFactor: get('high_freq_factor'),
    originalMaxPositionEmbeddings: get('original_max_position_embeddings'),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor)
    bad(
      'rope_scaling.high_freq_factor',
      `greater than low_freq_factor (${scaling.lowFreqFactor})`,
      scaling.highFreqFactor,
    );
  return scaling;
}

function toHFConfig(desc: FamilyDescription, c: DecoderConfig): Json {
  const json: Json = {
    architectures: [desc.architecture],
    model_type: desc.modelTypes[0],
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling:
      c.ropeScaling === null
        ? null
        : {
            rope_type: 'llama3',
            factor: c.ropeScaling.factor,
            low_freq_factor: c.ropeScaling.lowFreqFactor,
            high_freq_factor: c.ropeScaling.highFreqFactor,
            original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
          },
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'float32',
    ...desc.extraConfig,
  };
  if (desc.qkvBias === 'config') {
    json.attention_bias = c.attentionBias;
    json.mlp_bias = false;
  } else if (!c.attentionBias) {
    throw new ConfigError(`family "${desc.name}" always has q/k/v biases; cannot save a config without them`);
  }
  return json;
}
