import { tf } from '../tf.js';
import type { LoadedModel } from '../contracts/backbone.js';
import { ANSWER_PREFIX, encodeQuestion, layout, padBatch, type EncodeOptions } from '../data/sequences.js';
import { CachedBatch, decodeGreedy } from '../eval/cached-batch.js';
import { reasoningTokensOf } from '../eval/text-strategies.js';
import type { Generation, GenerationStrategy } from '../eval/strategy.js';
import { studentForward, type LatentSettings, type LatentSource } from './rollout.js';
import { LatentRecorder } from './inspect.js';

export interface LatentStrategyOptions {
  maxNewTokens?: number;
  encode?: EncodeOptions;
  /** Attach to each generation what its latents hold (top `topK` tokens per pass, input changes). */
  inspect?: { topK?: number };
  /** What fills the latent slots (the latent-usage check): see `StudentOptions.latents`. */
  latents?: LatentSource;
}

/**
 * Latent inference (KaVa / CODI / PCCoT students): `Q <bot>`, the M latent thoughts (Jacobi or
 * autoregressive), then `<eot> "The answer is:"` in the same pass as the last latents, and greedy
 * answer decoding that reuses the KV cache. Passes per question: 1 + T + answer tokens (Jacobi).
 */
export function latentStrategy(latent: LatentSettings, options: LatentStrategyOptions = {}): GenerationStrategy {
  const maxNewTokens = options.maxNewTokens ?? 16;
  const source = options.latents ?? 'rollout';
  return {
    mode: 'latent',
    // Shuffling hands each question another question's latents, so no batch may hold only one.
    ...(source === 'shuffled' ? { minBatch: 2 } : {}),
    async generate({ backbone, tokenizer }: LoadedModel, questions) {
      const { botId, eotId } = reasoningTokensOf(tokenizer);
      const answerPrefix = tokenizer.encode(ANSWER_PREFIX);
      const B = questions.length;
      const prompts = padBatch(
        questions.map((q) =>
          layout([
            ['question', encodeQuestion(tokenizer, q, options.encode)],
            ['bot', [botId]],
          ]),
        ),
        tokenizer.padId,
        'right',
      );
      const segment = [eotId, ...answerPrefix];
      let passes = 0;
      let length = 0;
      const recorder = options.inspect ? new LatentRecorder(options.inspect.topK) : null;
      const out = tf.tidy(() => {
        const r = studentForward(
          backbone,
          latent,
          {
            prefixIds: tf.tensor2d(prompts.ids, [B, prompts.length], 'int32'),
            prefixMask: tf.tensor2d(prompts.mask, [B, prompts.length], 'int32'),
            prefixLast: tf.tensor1d(
              prompts.lengths.map((n) => n - 1),
              'int32',
            ),
            segmentIds: tf.tensor2d(
              new Int32Array(B * segment.length).map((_, i) => segment[i % segment.length]!),
              [B, segment.length],
              'int32',
            ),
            segmentMask: tf.ones([B, segment.length], 'int32'),
          },
          {
            logits: true,
            returnCache: true,
            latents: source,
            ...(recorder ? { observe: recorder.observe } : {}),
          },
        );
        const logits = r.logits!;
        const next = tf.argMax(tf.squeeze(tf.slice(logits, [0, logits.shape[1]! - 1, 0], [B, 1, -1]), [1]), -1);
        passes = r.forwardPasses;
        length = r.cache!.length;
        return { keys: r.cache!.keys, values: r.cache!.values, mask: r.cache!.mask, next };
      });
      const first = Array.from(out.next.dataSync());
      out.next.dispose();
      const held = prompts.lengths.map((n) => n + latent.count + segment.length);
      const batch = new CachedBatch(backbone, tokenizer.padId, B);
      batch.adopt(
        { keys: out.keys, values: out.values, mask: out.mask, length },
        held,
        new Array<number>(B).fill(passes),
      );
      try {
        const answers = decodeGreedy(batch, first, new Set([tokenizer.eosId]), maxNewTokens);
        return answers.map((a, b): Generation => {
          const text = a.tokens[a.tokens.length - 1] === tokenizer.eosId ? a.tokens.slice(0, -1) : a.tokens;
          return {
            answerText: tokenizer.decode(text).trim(),
            forwardPasses: batch.passes[b]!,
            generatedTokens: a.tokens.length,
            kvEntries: held[b]!,
            ...(recorder ? { latents: recorder.readings(tokenizer, b) } : {}),
          };
        });
      } finally {
        batch.dispose();
      }
    },
  };
}
