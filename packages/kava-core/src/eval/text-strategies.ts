import type { LoadedModel } from '../contracts/backbone.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import { KavaError } from '../errors.js';
import {
  ANSWER_PREFIX,
  BOT_TOKEN,
  EOT_TOKEN,
  encodeQuestion,
  type EncodeOptions,
  type ReasoningTokens,
} from '../data/sequences.js';
import { CachedBatch, decodeGreedy } from './cached-batch.js';
import type { TraceBudget } from './trace-compression.js';
import type { Generation, GenerationStrategy } from './strategy.js';

export interface TextStrategyOptions {
  /** Answer tokens generated at most (eval.maxNewTokens). Default 16. */
  maxNewTokens?: number;
  /** CoT tokens the model may write in cot mode (eval.maxCotTokens). Default 128. */
  maxCotTokens?: number;
  /** Question encoding, as in training (maxQuestionTokens, addBos). */
  encode?: EncodeOptions;
  /** Logits bytes above which a wide feed runs its last column separately (default 256 MiB). */
  logitsBudgetBytes?: number;
  /** cot mode: a KV budget on the trace while it is written (eval.kvBudget). */
  traceBudget?: TraceBudget;
}

/** The `<bot>`/`<eot>` ids of a tokenizer that has them; a KavaError otherwise. */
export function reasoningTokensOf(tokenizer: Tokenizer): ReasoningTokens {
  const botId = tokenizer.tokenToId(BOT_TOKEN);
  const eotId = tokenizer.tokenToId(EOT_TOKEN);
  if (botId === undefined || eotId === undefined) {
    throw new KavaError(
      `the tokenizer has no ${BOT_TOKEN}/${EOT_TOKEN} tokens; cot and latent evaluation need a model trained with them`,
      { exitCode: 2 },
    );
  }
  return { botId, eotId };
}

function finish(
  tokenizer: Tokenizer,
  batch: CachedBatch,
  b: number,
  answer: number[],
  generated: number,
  kvEntries: number,
  trace?: string,
  peakKvEntries?: number,
): Generation {
  const text = answer[answer.length - 1] === tokenizer.eosId ? answer.slice(0, -1) : answer;
  return {
    answerText: tokenizer.decode(text).trim(),
    ...(trace === undefined ? {} : { trace }),
    forwardPasses: batch.passes[b]!,
    generatedTokens: generated,
    kvEntries,
    ...(peakKvEntries === undefined ? {} : { peakKvEntries }),
  };
}

/**
 * No-CoT: reads `Q "The answer is:"` and decodes the answer greedily until `<eos>`.
 */
export function directStrategy(options: TextStrategyOptions = {}): GenerationStrategy {
  const maxNewTokens = options.maxNewTokens ?? 16;
  return {
    mode: 'direct',
    async generate({ backbone, tokenizer }: LoadedModel, questions) {
      const prefix = tokenizer.encode(ANSWER_PREFIX);
      const batch = new CachedBatch(backbone, tokenizer.padId, questions.length, options.logitsBudgetBytes);
      try {
        const first = batch.feed(questions.map((q) => [...encodeQuestion(tokenizer, q, options.encode), ...prefix]));
        const held = [...batch.held];
        const answers = decodeGreedy(batch, first, new Set([tokenizer.eosId]), maxNewTokens);
        return answers.map((a, b) => finish(tokenizer, batch, b, a.tokens, a.tokens.length, held[b]!));
      } finally {
        batch.dispose();
      }
    },
  };
}

/**
 * Full CoT: reads `Q <bot>`, writes the chain of thought greedily until `<eot>` (or `<eos>`,
 * or maxCotTokens), then reads `<eot> "The answer is:"` and decodes the answer until `<eos>`:
 * the same token layout as the teacher sequence it was trained on.
 */
export function cotStrategy(options: TextStrategyOptions = {}): GenerationStrategy {
  const maxNewTokens = options.maxNewTokens ?? 16;
  const maxCotTokens = options.maxCotTokens ?? 128;
  return {
    mode: 'cot',
    async generate({ backbone, tokenizer }: LoadedModel, questions) {
      const { botId, eotId } = reasoningTokensOf(tokenizer);
      const prefix = tokenizer.encode(ANSWER_PREFIX);
      const batch = new CachedBatch(backbone, tokenizer.padId, questions.length, options.logitsBudgetBytes);
      try {
        const first = batch.feed(questions.map((q) => [...encodeQuestion(tokenizer, q, options.encode), botId]));
        if (options.traceBudget) batch.startTraceBudget(options.traceBudget);
        const cots = decodeGreedy(batch, first, new Set([eotId, tokenizer.eosId]), maxCotTokens);
        batch.stopTraceBudget();
        // A row that hit the limit has an unfed last CoT token; a stop token is replaced by <eot>.
        const bridge = cots.map((c) => [
          ...(c.stopped || c.tokens.length === 0 ? [] : [c.tokens[c.tokens.length - 1]!]),
          eotId,
          ...prefix,
        ]);
        const afterPrefix = batch.feed(bridge);
        // Under a KV budget the cache holds fewer entries than tokens were read; without, all of them.
        const held = options.traceBudget ? batch.cachedEntries() : [...batch.held];
        const peak = options.traceBudget ? batch.peak.map((p, b) => Math.max(p, held[b]!)) : null;
        const answers = decodeGreedy(batch, afterPrefix, new Set([tokenizer.eosId]), maxNewTokens);
        return answers.map((a, b) => {
          const cot = cots[b]!;
          const written = cot.stopped ? cot.tokens.slice(0, -1) : cot.tokens;
          return finish(
            tokenizer,
            batch,
            b,
            a.tokens,
            cot.tokens.length + a.tokens.length,
            held[b]!,
            tokenizer.decode(written).trim(),
            peak ? peak[b]! : undefined,
          );
        });
      } finally {
        batch.dispose();
      }
    },
  };
}

/** The built-in strategy of a text mode. Latent students bring their own GenerationStrategy. */
export function textStrategy(mode: 'cot' | 'direct', options: TextStrategyOptions = {}): GenerationStrategy {
  return mode === 'cot' ? cotStrategy(options) : directStrategy(options);
}
