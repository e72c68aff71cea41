import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HFCore } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { KavaError } from '../errors.js';
import type { Tokenizer } from '../contracts/tokenizer.js';
import { parseJsonText } from '../io/json-file.js';

/** The parts of a Hugging Face `tokenizer.json` this class reads and edits. */
export interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  model: {
    type?: string;
    vocab: Record<string, number> | [string, number][];
    unk_token?: string | null;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}
/** A special token as tokenizer.json lists it under added_tokens (matched whole, never split or normalised). */
export function specialToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}
/** `tokenizer_config.json`: special token names and the chat template. */
export type TokenizerConfigJson = Record<string, unknown>;

export interface ChatMessage {
  role: string;
  content: string;
}

/** A special token field of tokenizer_config.json: a string, `{content}` or null. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * A tokenizer over a Hugging Face `tokenizer.json` (BPE for Llama-3 / Qwen, WordLevel for the
 * synthetic task), run by @huggingface/tokenizers. The JSON stays the source of truth: added
 * special tokens are written into it and the runtime tokenizer is rebuilt, so `save` writes a
 * file that Hugging Face tools load with the same ids.
 */
export class HFTokenizer implements Tokenizer {
  private core: HFCore;
  private size: number;
  private eos: number;
  private pad: number;
  private bos: number | undefined;

  /** `source` names the files in error messages. */
  constructor(
    readonly json: TokenizerJson,
    readonly config: TokenizerConfigJson = {},
    private readonly source = 'tokenizer.json',
  ) {
    this.core = new HFCore(json, config);
    this.size = this.countIds();
    const eosName = tokenName(config.eos_token);
    const eos = eosName === undefined ? undefined : this.core.token_to_id(eosName);
    if (eos === undefined) {
      throw new KavaError(
        `${source}: tokenizer_config.json must name an eos_token that is in the vocabulary (got ${JSON.stringify(config.eos_token)})`,
        { exitCode: 2 },
      );
    }
    this.eos = eos;
    const padName = tokenName(config.pad_token);
    this.pad = (padName === undefined ? undefined : this.core.token_to_id(padName)) ?? eos;
    const bosName = tokenName(config.bos_token);
    this.bos = bosName === undefined ? undefined : this.core.token_to_id(bosName);
  }

  private countIds(): number {
    let max = -1;
    for (const id of this.core.get_vocab(true).values()) if (id > max) max = id;
    return max + 1;
  }

  get vocabSize(): number {
    return this.size;
  }
  get eosId(): number {
    return this.eos;
  }
  get padId(): number {
    return this.pad;
  }
  get bosId(): number | undefined {
    return this.bos;
  }

  encode(text: string, options: { addBos?: boolean } = {}): number[] {
    const ids = this.core.encode(text, { add_special_tokens: false }).ids;
    if (options.addBos && this.bos !== undefined) return [this.bos, ...ids];
    return ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library rejects an empty list; a model may write only <eos>
    return this.core.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  tokenToId(token: string): number | undefined {
    return this.core.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.core.id_to_token(id);
  }

  addSpecialTokens(tokens: readonly string[]): number[] {
    const ids: number[] = [];
    let added = false;
    for (const content of tokens) {
      const existing = this.core.token_to_id(content) ?? this.json.added_tokens?.find((t) => t.content === content)?.id;
      if (existing !== undefined) {
        ids.push(existing);
        continue;
      }
      const entry = specialToken(this.size, content);
      (this.json.added_tokens ??= []).push(entry);
      const decoder = this.config.added_tokens_decoder;
      if (decoder && typeof decoder === 'object') {
        const { id, ...rest } = entry;
        (decoder as Record<string, unknown>)[String(id)] = rest;
      }
      ids.push(this.size);
      this.size++;
      added = true;
    }
    if (added) this.core = new HFCore(this.json, this.config);
    return ids;
  }

  /** Renders the chat template of tokenizer_config.json (Jinja, via @huggingface/jinja). */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    let template = this.config.chat_template;
    if (Array.isArray(template)) {
      template = (template as { name?: string; template?: string }[]).find((t) => t.name === 'default')?.template;
    }
    if (typeof template !== 'string') {
      throw new KavaError(`${this.source}: tokenizer_config.json has no chat_template`, { exitCode: 2 });
    }
    return new Template(template).render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: tokenName(this.config.bos_token) ?? '',
      eos_token: tokenName(this.config.eos_token) ?? '',
    });
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(this.json));
    await writeFile(join(dir, 'tokenizer_config.json'), `${JSON.stringify(this.config, null, 2)}\n`);
  }
}

/** Reads and parses one JSON file, naming it in the error. */
async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KavaError(`${file}: cannot read (${(error as Error).message})`, { exitCode: 2, cause: error });
  }
  const value = parseJsonText(text, file);
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new KavaError(`${file}: expected a JSON object`, { exitCode: 2 });
  return value as Record<string, unknown>;
}

/**
 * Loads `tokenizer.json` and (when present) `tokenizer_config.json` from a model or run
 * directory. A config without `eos_token` is an error: generation must know where to stop.
 */
export async function loadTokenizer(dir: string): Promise<HFTokenizer> {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file))
    throw new KavaError(`${dir}: no tokenizer.json (expected a Hugging Face tokenizer directory)`, { exitCode: 2 });
  const json = await readJson(file);
  if (!json.model || typeof json.model !== 'object')
    throw new KavaError(`${file}: field "model" is missing`, { exitCode: 2 });
  const configFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(configFile) ? await readJson(configFile) : {};
  try {
    return new HFTokenizer(json as TokenizerJson, config, file);
  } catch (error) {
    if (error instanceof KavaError) throw error;
    throw new KavaError(`${file}: cannot build the tokenizer (${(error as Error).message})`, {
      exitCode: 2,
      cause: error,
    });
  }
}
