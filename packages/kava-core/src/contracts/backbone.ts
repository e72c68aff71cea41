import type { tf } from '../tf.js';
import type { Tokenizer } from './tokenizer.js';

type Tensor = tf.Tensor;

/** The architecture of a Llama/Qwen-style decoder, in Hugging Face terms. */
export interface DecoderConfig {
  /** Family name of the registering plugin, e.g. "llama" or "qwen2". */
  family: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Llama-3 `rope_scaling` (`rope_type: "llama3"`), or null for plain RoPE. */
  ropeScaling: {
    type: 'llama3';
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositionEmbeddings: number;
  } | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Bias on the q/k/v projections (Qwen2). */
  attentionBias: boolean;
}

/**
 * Per-layer key/value cache. Tensors are [B, H_kv, S, headDim]; the owner disposes them.
 * (A type alias, not an interface, so a cache can be returned from tf.tidy as a TensorContainer.)
 */
export type KVCache = {
  keys: Tensor[];
  values: Tensor[];
  /** [B, S] float32: 1 for real tokens, 0 for padding, over every cached position. */
  mask: Tensor;
  /**
   * Per layer [B, H_kv, S] float32, when the KV heads hold different entries (a decoding cache cut
   * by a per-layer or per-head budget, `eval.kvBudget` with pyramid or adakv): KV head h of layer
   * l attends to position j only where this is 1 (and `mask` is). Absent: every head holds `mask`.
   */
  headMask?: Tensor[];
  /** Number of cached positions S. */
  length: number;
};

/** What a forward pass should produce. Anything not asked for is not materialised. */
export interface ForwardRequest {
  /** [B, S] int32 token ids; exactly one of `inputIds` / `inputEmbeds`. */
  inputIds?: Tensor;
  /** [B, S, hidden] input embeddings (latent tokens). */
  inputEmbeds?: Tensor;
  /** [B, S] 1 = real token, 0 = padding, for the new positions. Default all ones. */
  attentionMask?: Tensor;
  /**
   * [B, S] int32 RoPE positions of the new tokens. Default: each row continues after its real
   * (unpadded) cached tokens and counts only real new tokens — `sum(cache.mask) +
   * cumsum(attentionMask) - 1`, clipped at 0 — which is 0..S-1 without padding, matches
   * Hugging Face `generate` for left padding, and lets latents follow a right-padded prefix
   * with no gap.
   */
  positionIds?: Tensor;
  /** Prefix to attend to; not modified. */
  cache?: KVCache;
  /**
   * Return logits [B, S, vocab] (default true), or "last": only the last position's, [B, 1, vocab]
   * (greedy decoding reads nothing else; at a 128k vocabulary the head is a fifth of a 1B model's work).
   */
  logits?: boolean | 'last';
  /** Return each layer's K/V of the new positions; "pre-rope" returns keys before RoPE. */
  kv?: false | 'post-rope' | 'pre-rope';
  /** Return hidden states: [L + 1] tensors [B, S, hidden] (embeddings, then after each layer). */
  hidden?: boolean;
  /** Return an updated cache (prefix + new positions). */
  returnCache?: boolean;
  /**
   * [B, Q] int32 indices (into the new positions) of query rows to expose: their post-RoPE
   * queries per layer and their attention probabilities over every key (cache + new).
   */
  attentionRows?: Tensor;
  /** Training mode: enables LoRA dropout. Default false (deterministic). */
  training?: boolean;
  /** Seed of the LoRA dropout masks in training mode (each adapter derives its own); unseeded when absent. */
  seed?: number;
}

/** Output of a forward pass. The caller owns every tensor (dispose it or run inside tf.tidy). A type alias so it is a TensorContainer. */
export type ForwardResult = {
  logits?: Tensor;
  /** Per layer [B, H_kv, S, headDim]. */
  keys?: Tensor[];
  values?: Tensor[];
  /**
   * [L + 1] of [B, S, hidden], as Hugging Face `output_hidden_states`: the input embeddings,
   * the output of layers 1..L-1, and last the output of layer L after the final RMSNorm.
   */
  hidden?: Tensor[];
  /** Per layer [B, H, Q, headDim] post-RoPE queries of the requested rows. */
  queries?: Tensor[];
  /** Per layer [B, H, Q, S_total] attention probabilities of the requested rows. */
  attention?: Tensor[];
  cache?: KVCache;
};

/** A trainable decoder (teacher and student are the same instance in KaVa). */
export interface Backbone {
  readonly config: DecoderConfig;
  /** [B, S] ids -> [B, S, hidden] embeddings (gradient flows into the table). */
  embed(ids: Tensor): Tensor;
  /** One forward pass: what `request` asks for, and nothing more. */
  forward(request: ForwardRequest): ForwardResult;
  /** Variables the optimiser updates (LoRA adapters and new token rows, or every weight). */
  trainableVariables(): tf.Variable[];
  /**
   * Grows the embedding table (and an untied head) to `vocabSize` rows; rows from `firstNewId`
   * on (default: the current size) are the added tokens' rows and stay trainable under LoRA.
   * Pass the first added token's id when the checkpoint's table is padded past its tokenizer
   * (Qwen2.5), so the added tokens' rows inside the padding train too. New rows draw their
   * initial noise from `seed` (a trainer passes one derived from train.seed).
   */
  resizeVocab(vocabSize: number, firstNewId?: number, seed?: number): void;
  /** Releases every variable. */
  dispose(): void;
}

/**
 * A backbone family, contributed by a plugin: how a Hugging Face `config.json` maps to a
 * DecoderConfig and how its tensor names map to the shared decoder. Families are data.
 */
export interface BackboneFamily {
  /** e.g. "llama". */
  name: string;
  /** `config.json` `model_type` values this family loads. */
  modelTypes: string[];
  /** Maps a Hugging Face config.json object to a DecoderConfig; throws naming the bad field. */
  fromHFConfig(json: Record<string, unknown>): DecoderConfig;
  /** Writes a DecoderConfig back as a Hugging Face config.json object. */
  toHFConfig(config: DecoderConfig): Record<string, unknown>;
}

/**
 * A backbone shape: a named architecture a family plugin offers (tiny-llama, llama-1b, ...), what
 * `backbone.preset` in a resolved configuration names. Not a preset: a preset (the top-level
 * `preset`) is a run recipe, which picks a shape among its settings. Tiny shapes are randomly
 * initialised (their vocabulary comes from the tokenizer); shapes with a `checkpoint` describe a
 * released model (for the memory estimate) and need its weights in `backbone.modelDir`.
 */
export interface BackboneShape {
  description: string;
  architecture: Omit<DecoderConfig, 'family' | 'vocabSize'> & { vocabSize?: number };
  /** A released checkpoint: the Hugging Face repo to download; `--model-dir` is then required. */
  checkpoint?: { repo: string };
}

/** A loaded model and its tokenizer, as the trainer and evaluator receive them. */
export interface LoadedModel {
  backbone: Backbone;
  tokenizer: Tokenizer;
}
