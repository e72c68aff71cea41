import {
  assertFitsBackend,
  estimateMemory,
  formatMemoryEstimate,
  resolveConfig,
  shapeDecoderConfig,
  stepTokens,
  WASM_HEAP_BYTES,
} from '@kava/core/app';
import { llamaFamily, llamaShapes } from '@kava/plugin-backbone-llama';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { tempProject } from './helpers.js';

// Llama-3.2-1B's shape, as the llama plugin's llama-1b preset gives it.
const LLAMA_1B = shapeDecoderConfig(llamaFamily, llamaShapes['llama-1b']!);
const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

describe('the tokens a training step keeps activations for', () => {
  const config = async (overrides: object) =>
    (
      await resolveConfig({
        cwd: tempProject(),
        presets: [],
        builtinPlugins: BUILTIN_PLUGINS,
        overrides: overrides as never,
      })
    ).config;
  const lengths = { question: 100, cot: 60, answer: 5 };

  test('a latent method: the teacher over the written sequence, then the student prefix, T Jacobi passes over M latents and the final pass', async () => {
    const kava = await config({ method: 'kava', latent: { count: 24, iterations: 3, mode: 'jacobi' } });
    // teacher 100 + 60 + 5 + 4; student 100 + 1 + 24·3 + (24 + 5 + 4); logits: teacher + final pass
    expect(stepTokens(kava, lengths)).toEqual({ active: 169 + 206, logits: 169 + 33, longest: 206 });
  });

  test('full CoT and no CoT: one pass', async () => {
    expect(stepTokens(await config({ method: 'full-cot' }), lengths)).toEqual({
      active: 169,
      logits: 169,
      longest: 169,
    });
    expect(stepTokens(await config({ method: 'no-cot' }), lengths)).toEqual({ active: 109, logits: 109, longest: 109 });
  });
});

describe('a frozen base held in native memory', () => {
  const options = {
    batch: 1,
    seqLen: 206,
    activeTokens: 375,
    logitTokens: 202,
    backend: 'wasm',
    lora: { rank: 128, targets: ALL, dropout: 0.1 },
  };

  test("moves the base weights (not the norms) out of the backend's share", () => {
    const held = estimateMemory(LLAMA_1B, options);
    const native = estimateMemory(LLAMA_1B, { ...options, nativeBase: true });
    expect(held.native).toBe(0);
    expect(held.heap).toBe(held.total);
    expect(native.total).toBe(held.total);
    // 1,235,814,400 parameters; norms 33 × 2048 stay behind.
    expect(native.native).toBe(4 * (1_235_814_400 - 33 * 2048));
    expect(native.heap).toBe(native.total - native.native);
    expect(formatMemoryEstimate(native)).toMatch(
      /^frozen base in native memory: 4\.60 GiB; in the backend: [\d.]+ GiB$/m,
    );
  });

  test("the heap limit applies to the backend's share only", () => {
    const native = estimateMemory(LLAMA_1B, { ...options, activeTokens: 50, logitTokens: 20, nativeBase: true });
    expect(native.total).toBeGreaterThan(WASM_HEAP_BYTES);
    expect(native.heap).toBeLessThan(WASM_HEAP_BYTES);
    expect(() => assertFitsBackend(native)).not.toThrow();
    const held = estimateMemory(LLAMA_1B, { ...options, activeTokens: 50, logitTokens: 20 });
    expect(() => assertFitsBackend(held)).toThrow(
      /weights and optimizer state alone do not fit.*backbone\.baseWeights "native"/,
    );
  });

  test('LoRA dropout adds the dropped copy of each adapter input and its mask', () => {
    const without = estimateMemory(LLAMA_1B, { ...options, lora: { ...options.lora, dropout: 0 } });
    const withDropout = estimateMemory(LLAMA_1B, options);
    // Inputs per layer: q, k, v, gate, up read 2048; o 2048; down 8192 → 2 × 22,528 floats per
    // token and layer, kept through the backward pass, which allocates as much again (× 2).
    expect(withDropout.activations - without.activations).toBe(2 * 4 * 375 * 16 * 2 * (6 * 2048 + 8192));
  });
});
