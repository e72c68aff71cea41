import { resolve } from 'node:path';
import {
  dataLengths,
  estimateMemory,
  holdsBaseNatively,
  initBackend,
  limitLengths,
  loadRunData,
  runTokenizer,
  stepTokens,
  WASM_HEAP_BYTES,
  type BackendInfo,
  type DecoderConfig,
  type MemoryEstimate,
  type ResolvedConfig,
  type RunData,
} from '@kava/core/app';

/** Training examples whose lengths the estimate looks at (the longest of them sizes the peak). */
const SAMPLE = 512;

/** What a step of this run holds, from its data: read once, and handed on to the trainer. */
export interface StepPlan {
  data: RunData;
  tokens: ReturnType<typeof stepTokens>;
  /** One line: what the estimate is based on. */
  basis: string;
}

/**
 * The method's passes over the longest of a sample of the training examples (as the trainer
 * encodes them; a micro-batch pads to its longest), or over the token limits without data.
 */
export async function planStep(resolved: ResolvedConfig): Promise<StepPlan> {
  const { config, plugins } = resolved;
  const data = await loadRunData(config, plugins.registry, (p) => resolve(resolved.baseDir, p));
  const lengths =
    data.train.length > 0
      ? dataLengths(config, await runTokenizer(config, { trainExamples: data.train }), data.train, SAMPLE)
      : limitLengths(config);
  const tokens = stepTokens(config, lengths);
  const sampled = Math.min(SAMPLE, data.train.length);
  const basis =
    `longest of ${sampled} training examples: question ${lengths.question}, CoT ${lengths.cot}, answer ${lengths.answer} tokens; ` +
    `${tokens.active} tokens of activations per example over the method's passes`;
  return { data, tokens, basis };
}

/** The memory estimate of the planned step on `backend`: the decoder's shape, LoRA and where the frozen base lives. */
export function estimateStep(
  resolved: ResolvedConfig,
  decoder: DecoderConfig,
  backend: BackendInfo,
  plan: StepPlan,
): MemoryEstimate {
  const { config } = resolved;
  const { lora } = config.backbone;
  return estimateMemory(decoder, {
    batch: Math.min(config.train.microBatchSize, config.train.batchSize),
    seqLen: plan.tokens.longest,
    activeTokens: plan.tokens.active,
    logitTokens: plan.tokens.logits,
    backend: backend.name,
    nativeBase: holdsBaseNatively(config.backbone, decoder),
    ...(lora.enabled ? { lora: { rank: lora.rank, targets: lora.targets, dropout: lora.dropout } } : {}),
  });
}

/**
 * `backend: "auto"` took wasm, but the step does not fit its 4 GiB heap while a frozen base can
 * live in native memory: the cpu backend (native kernels too, no heap ceiling) runs it instead.
 */
export async function fallBackFromWasm(
  resolved: ResolvedConfig,
  backend: BackendInfo,
  estimate: MemoryEstimate,
): Promise<BackendInfo | null> {
  if (
    resolved.config.backend !== 'auto' ||
    backend.name !== 'wasm' ||
    estimate.heap <= WASM_HEAP_BYTES ||
    estimate.native === 0
  )
    return null;
  return initBackend('cpu');
}
