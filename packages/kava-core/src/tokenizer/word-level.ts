import { HFTokenizer, specialToken, type AddedTokenJson, type TokenizerJson } from './hf-tokenizer.js';

/** Splits text like the `Whitespace` pre-tokenizer of tokenizer.json: runs of word characters or of other non-space characters. */
export function wordPieces(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/g) ?? [];
}

export interface WordLevelOptions {
  unkToken?: string;
  padToken?: string;
  eosToken?: string;
  /** Further special tokens (e.g. `<bot>`, `<eot>`), given ids right after unk/pad/eos. */
  specialTokens?: readonly string[];
}

/**
 * A word-level tokenizer in `tokenizer.json` form (WordLevel model, Whitespace pre-tokenizer, so
 * Hugging Face tools load it too) over the given words, run by the same HFTokenizer class as the
 * real vocabularies. Special tokens come first; words keep their given order (duplicates dropped).
 * Decoding joins tokens with spaces (word-level decoding is not whitespace-exact).
 */
export function createWordLevelTokenizer(words: Iterable<string>, options: WordLevelOptions = {}): HFTokenizer {
  const unk = options.unkToken ?? '<unk>';
  const pad = options.padToken ?? '<pad>';
  const eos = options.eosToken ?? '<eos>';
  const specials = [...new Set([pad, unk, eos, ...(options.specialTokens ?? [])])];
  const vocab: Record<string, number> = {};
  const add = (token: string) => {
    if (!Object.hasOwn(vocab, token)) vocab[token] = Object.keys(vocab).length;
  };
  specials.forEach(add);
  for (const word of words) {
    if (wordPieces(word).length !== 1 || wordPieces(word)[0] !== word) {
      throw new Error(`word-level vocabulary entry ${JSON.stringify(word)} is not a single pre-tokenized piece`);
    }
    add(word);
  }
  const added: AddedTokenJson[] = specials.map((content) => specialToken(vocab[content]!, content));
  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: unk },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: unk,
    pad_token: pad,
    eos_token: eos,
    model_max_length: 4096,
    clean_up_tokenization_spaces: false,
  };
  return new HFTokenizer(json, config, 'word-level tokenizer');
}
