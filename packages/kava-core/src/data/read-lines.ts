import { createReadStream } from 'node:fs';
import { ConfigError } from '../errors.js';

/** One line of a text file with its 1-based number. */
export interface NumberedLine {
  line: number;
  text: string;
}

export interface ReadTextOptions {
  /** Read only the first `bytes` bytes (a head for sniffing; it may end inside a character). */
  bytes?: number;
  /** Size of the chunks read (default 64 KB). */
  chunkBytes?: number;
}

/** Newlines in `text`, to say which line a bad byte is on. */
function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Offset of the first byte of `bytes` that is not valid UTF-8, and the text before it. `bytes`
 * must start on a character boundary. A replacing decoder writes U+FFFD for each bad sequence, so
 * the first U+FFFD that is not itself encoded in the file (EF BF BD) marks the bad byte.
 */
function firstInvalidByte(bytes: Uint8Array): { at: number; before: string } {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  let at = 0;
  let index = 0;
  for (const char of text) {
    const literal = bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd;
    if (char === '\ufffd' && !literal) break;
    at += Buffer.byteLength(char);
    index += char.length;
  }
  return { at, before: text.slice(0, index) };
}

const hex = (byte: number | undefined) => `0x${(byte ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;

/** The error for a file that is not UTF-8 text: where, and which byte. */
function notUtf8(file: string, offset: number, line: number, byte: number | undefined): ConfigError {
  return new ConfigError(
    `${file}:${line}: not UTF-8 text: byte ${hex(byte)} at offset ${offset} is not valid UTF-8 (the file may be Latin-1 or Windows-1252); save it as UTF-8`,
  );
}

/**
 * Refuses a chunk of a file that is not UTF-8 text in a way worth naming: UTF-16 (its byte order
 * mark), or binary (a NUL byte, which no text data file holds; JSON forbids it). Checked before
 * decoding: such files are invalid UTF-8 too, but "binary" is the better diagnosis.
 */
function checkTextChunk(file: string, chunk: Buffer, offset: number): void {
  if (offset === 0 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)))
    throw new ConfigError(`${file}: UTF-16 text (it starts with a UTF-16 byte order mark); save the file as UTF-8`);
  const nul = chunk.indexOf(0);
  if (nul >= 0)
    throw new ConfigError(
      `${file}: a NUL byte at offset ${offset + nul}: this is a binary file, not a text data file (JSON Lines, a JSON array or iCoT text)`,
    );
}

/**
 * Streams a file as UTF-8 text, chunk by chunk. A leading byte order mark is dropped (editors on
 * Windows write one), and a file that is not UTF-8 (Latin-1, UTF-16, binary) is refused with a
 * ConfigError naming the file, the line and the byte offset: decoding it leniently would turn
 * each bad byte into U+FFFD and train on the damage without a word.
 */
export async function* readText(file: string, options: ReadTextOptions = {}): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // the BOM is dropped below
  const stream = createReadStream(file, {
    highWaterMark: options.chunkBytes ?? 1 << 16,
    ...(options.bytes !== undefined ? { start: 0, end: options.bytes - 1 } : {}),
  });
  let offset = 0; // bytes read
  let decoded = 0; // bytes the text so far came from
  let line = 1;
  let atStart = true;
  let held: Buffer = Buffer.alloc(0); // what the decoder holds back: a character cut by the chunk boundary
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      checkTextChunk(file, chunk, offset);
      const bytes = held.length > 0 ? Buffer.concat([held, chunk]) : chunk; // starts on a character boundary
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        const { at, before } = firstInvalidByte(bytes);
        throw notUtf8(file, offset - held.length + at, line + countNewlines(before), bytes[at]);
      }
      offset += chunk.length;
      decoded += Buffer.byteLength(text);
      line += countNewlines(text);
      held = bytes.subarray(bytes.length - (offset - decoded));
      if (atStart && text !== '') {
        atStart = false;
        if (text.startsWith('\ufeff')) text = text.slice(1);
      }
      if (text !== '') yield text;
    }
    if (options.bytes !== undefined && offset >= options.bytes) return; // a head may end mid-character
    try {
      decoder.decode(); // throws when the file ends inside a character
    } catch {
      throw notUtf8(file, decoded, line, held[0]);
    }
  } finally {
    stream.destroy();
  }
}

/**
 * Streams a text file line by line, so a file of any size is never held as one string. Lines end
 * at LF or CRLF; the text is checked UTF-8 (readText).
 */
export async function* readLines(file: string): AsyncGenerator<NumberedLine> {
  let line = 0;
  let rest = '';
  const numbered = (text: string): NumberedLine => ({
    line: ++line,
    text: text.endsWith('\r') ? text.slice(0, -1) : text,
  });
  for await (const chunk of readText(file)) {
    if (!chunk.includes('\n')) {
      rest += chunk; // a long line grows without re-splitting what came before
      continue;
    }
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const text of parts) yield numbered(text);
  }
  if (rest !== '') yield numbered(rest);
}

/** The first `bytes` bytes of a file as text (for sniffing a format without reading the file). */
export async function readHead(file: string, bytes = 65536): Promise<string> {
  let head = '';
  for await (const chunk of readText(file, { bytes })) head += chunk;
  return head;
}
