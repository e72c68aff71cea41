/**
 * Text <-> token ids. Implementations wrap a Hugging Face `tokenizer.json` (real Llama-3 / Qwen
 * vocabularies) or the small word-level tokenizer of the synthetic task.
 */
export interface Tokenizer {
  /** Number of ids, including added special tokens. The embedding table has at least this many rows. */
  readonly vocabSize: number;
  /** Id appended after the answer; generation stops on it. */
  readonly eosId: number;
  /** Id used for padding in batches (never attended to, never a target). */
  readonly padId: number;
  /** Optional beginning-of-sequence id prepended by `encode` when `addBos` is true. */
  readonly bosId?: number;
  /** Encodes text to ids. Never adds BOS/EOS unless asked. */
  encode(text: string, options?: { addBos?: boolean }): number[];
  /** Decodes ids to text; special tokens are dropped when `skipSpecialTokens` (default true). */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The id of a token string (special tokens included), or undefined. */
  tokenToId(token: string): number | undefined;
  /**
   * Adds special tokens (e.g. `<bot>`, `<eot>`) that encode atomically; returns their ids.
   * Tokens already present keep their id. The caller grows the embedding table to `vocabSize`.
   */
  addSpecialTokens(tokens: readonly string[]): number[];
  /** Writes `tokenizer.json` (+ `tokenizer_config.json`) into `dir`. */
  save(dir: string): Promise<void>;
}
