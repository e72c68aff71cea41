import { KavaError } from '../errors.js';
import type { DecoderConfig } from '../contracts/backbone.js';
import { countParameters, parameterSpecs, PROJECTIONS, type ProjectionName } from './weights.js';

/** The wasm backend's whole heap (tensors included) is one 32-bit wasm memory: 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

export interface MemoryEstimateOptions {
  /** Examples per forward pass (the micro-batch). */
  batch: number;
  /** Tokens per example. */
  seqLen: number;
  /** Forward passes whose activations are alive together for one backward (KaVa: teacher + student = 2). */
  forwardPasses?: number;
  /**
   * Tokens per example whose activations one step keeps, over all its passes (see stepTokens),
   * and those with vocabulary logits; when given they replace seqLen × forwardPasses, and seqLen
   * is the longest pass.
   */
  activeTokens?: number;
  logitTokens?: number;
  /** LoRA instead of full training: only adapters (and added rows) get gradients and AdamW state. */
  lora?: { rank: number; targets: readonly ProjectionName[]; dropout?: number } | null;
  /** The backend the run uses ("wasm" has a 4 GiB heap). */
  backend: string;
  /** The frozen base is held in native memory, outside the backend (see FrozenMatrix). */
  nativeBase?: boolean;
}

/** The memory a training or evaluation is expected to take, by part (what `--dry-run` prints). */
export interface MemoryEstimate {
  parameters: number;
  trainableParameters: number;
  /** Bytes (fp32 throughout). */
  weights: number;
  gradients: number;
  /** AdamW's two moments. */
  optimizer: number;
  activations: number;
  /** Of `weights`, the bytes held in native memory outside the backend (a native-held frozen base). */
  native: number;
  /** What lives in the backend: `total` less `native`. */
  heap: number;
  total: number;
  backend: string;
  /** The backend's hard limit in bytes, or null when only the machine's memory bounds it. */
  limit: number | null;
}

/** [in, out] of each projection a LoRA adapter can wrap. */
function projectionDims(config: DecoderConfig): Record<ProjectionName, [number, number]> {
  const H = config.hiddenSize;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const I = config.intermediateSize;
  return {
    q_proj: [H, q],
    k_proj: [H, kv],
    v_proj: [H, kv],
    o_proj: [q, H],
    gate_proj: [H, I],
    up_proj: [H, I],
    down_proj: [I, H],
  };
}

/**
 * Per token and layer, what the adapters add to the activations: x·A [r], then x·A·B, its scaled
 * copy and the sum with the base output (3 × the output width) and, with dropout, its mask and
 * the dropped copy of the input (2 × the input width: q, k and v each draw their own mask).
 */
function loraActivations(
  config: DecoderConfig,
  lora: { rank: number; targets: readonly ProjectionName[]; dropout?: number },
): number {
  const dims = projectionDims(config);
  const targets = PROJECTIONS.filter((p) => lora.targets.includes(p));
  return targets.reduce(
    (sum, p) => sum + lora.rank + 3 * dims[p][1] + ((lora.dropout ?? 0) > 0 ? 2 * dims[p][0] : 0),
    0,
  );
}

/** Scalars in the LoRA adapters of `targets` over every layer. */
export function loraParameters(config: DecoderConfig, rank: number, targets: readonly ProjectionName[]): number {
  const dims = projectionDims(config);
  return (
    config.numLayers *
    PROJECTIONS.filter((p) => targets.includes(p)).reduce((s, p) => s + rank * (dims[p][0] + dims[p][1]), 0)
  );
}

/**
 * Memory of a training step: fp32 weights, gradients and AdamW moments of what trains, and the
 * activations of the forward and backward passes (tfjs frees neither before the gradients are
 * done). The activation count per token and layer is what our decoder's forward allocates: about 10·hidden (norms, residuals, projections) +
 * 4·kv_dim (K/V before and after RoPE) + 3·heads·seqLen (scores, masked scores, probabilities)
 * + 5·intermediate (gate, sigmoid, SiLU, up, product) + the LoRA branch (see loraActivations),
 * plus 3·vocab per token for the logits and their softmax. An estimate, meant to be within a small factor; good enough to refuse a run
 * that cannot fit before it allocates gigabytes.
 */
export function estimateMemory(config: DecoderConfig, options: MemoryEstimateOptions): MemoryEstimate {
  // With LoRA the adapters are parameters of the model too (trainable, on top of the frozen base):
  // counting only the base would show more trainable parameters than parameters.
  const adapters = options.lora ? loraParameters(config, options.lora.rank, options.lora.targets) : 0;
  const parameters = countParameters(config) + adapters;
  const trainableParameters = options.lora ? adapters : parameters;
  const tokens = options.batch * (options.activeTokens ?? options.seqLen * (options.forwardPasses ?? 1));
  const logitTokens = options.logitTokens === undefined ? tokens : options.batch * options.logitTokens;
  const perLayerToken =
    10 * config.hiddenSize +
    4 * config.numKvHeads * config.headDim +
    3 * config.numHeads * options.seqLen +
    5 * config.intermediateSize +
    (options.lora ? loraActivations(config, options.lora) : 0);
  // tfjs keeps every tensor of the forward pass until the gradients are computed, and the
  // backward pass allocates about as much again before its scope ends: twice the forward's.
  const activations = 2 * 4 * (tokens * config.numLayers * perLayerToken + logitTokens * 3 * config.vocabSize);
  const weights = 4 * parameters;
  const gradients = 4 * trainableParameters;
  const optimizer = 8 * trainableParameters;
  // The linear weights and the embedding table go native (as FrozenMatrix); norms and biases stay.
  const native = options.nativeBase
    ? 4 *
      parameterSpecs(config)
        .filter((s) => s.kind === 'linear' || s.kind === 'embedding')
        .reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0)
    : 0;
  const total = weights + gradients + optimizer + activations;
  return {
    parameters,
    trainableParameters,
    weights,
    gradients,
    optimizer,
    activations,
    native,
    heap: total - native,
    total,
    backend: options.backend,
    limit: options.backend === 'wasm' ? WASM_HEAP_BYTES : null,
  };
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const count = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}k`
        : `${n}`;

/** A few lines for a dry run. */
export function formatMemoryEstimate(e: MemoryEstimate): string {
  return [
    `parameters: ${count(e.parameters)} (${count(e.trainableParameters)} trainable${e.trainableParameters < e.parameters ? `: LoRA adapters on ${count(e.parameters - e.trainableParameters)} frozen` : ''})`,
    `memory (fp32): weights ${gib(e.weights)}, gradients ${gib(e.gradients)}, AdamW ${gib(e.optimizer)}, activations ${gib(e.activations)}; total ${gib(e.total)}`,
    ...(e.native > 0 ? [`frozen base in native memory: ${gib(e.native)}; in the backend: ${gib(e.heap)}`] : []),
    e.limit === null
      ? `backend ${e.backend}: bounded by the machine's memory`
      : `backend ${e.backend}: heap limit ${gib(e.limit)} (${e.heap <= e.limit ? 'fits' : 'does not fit'})`,
  ].join('\n');
}

/** Throws a KavaError saying what to change when the estimate exceeds the backend's limit. */
export function assertFitsBackend(e: MemoryEstimate, what = 'this run'): void {
  if (e.limit === null || e.heap <= e.limit) return;
  const fixed = e.weights - e.native + e.gradients + e.optimizer;
  throw new KavaError(
    `${what} needs about ${gib(e.heap)} in the backend (weights ${gib(e.weights - e.native)}, gradients ${gib(e.gradients)}, AdamW ${gib(e.optimizer)}, ` +
      `activations ${gib(e.activations)}), more than the ${e.backend} backend's ${gib(e.limit)} heap. ` +
      (fixed > e.limit
        ? 'The weights and optimizer state alone do not fit: use --backend tensorflow (or tensorflow-gpu), or cpu' +
          (e.trainableParameters < e.parameters && e.native === 0
            ? '; or keep the frozen base outside the heap (backbone.baseWeights "native", which needs the native kernels).'
            : '.')
        : 'Lower train.microBatchSize or the token limits, or use --backend tensorflow (or tensorflow-gpu), or cpu.'),
  );
}
