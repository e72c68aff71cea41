import { readLines, readText } from './read-lines.js';

/** One JSON record of a file: its parsed value, or the parse error, and the line it starts on. */
export interface RawRecord {
  line: number;
  value?: unknown;
  parseError?: string;
}

function parse(line: number, text: string): RawRecord {
  try {
    return { line, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { line, parseError: (error as Error).message };
  }
}

/** Records of a JSON Lines file; blank lines are ignored. */
export async function* jsonLines(file: string): AsyncGenerator<RawRecord> {
  for await (const { line, text } of readLines(file)) {
    if (text.trim() === '') continue;
    yield parse(line, text);
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * Finds the elements of a top-level JSON array in text given chunk by chunk, holding only the
 * current element's text. It tracks strings and nesting to see where elements end; each
 * element is then parsed with JSON.parse.
 */
export class JsonArrayScanner {
  private line = 1;
  private opened = false;
  private closed = false;
  private failed = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element: string[] | null = null;
  private elementLine = 0;

  /** The records completed by this chunk. */
  push(chunk: string): RawRecord[] {
    const out: RawRecord[] = [];
    if (this.failed) return out;
    let start = this.element ? 0 : -1;
    const emit = (end: number) => {
      this.element!.push(chunk.slice(start, end));
      out.push(parse(this.elementLine, this.element!.join('')));
      this.element = null;
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.element === null) {
        if (c === '\n') this.line++;
        if (WHITESPACE.has(c)) continue;
        const unexpected = this.closed
          ? `unexpected ${JSON.stringify(c)} after the closing "]"`
          : !this.opened && c !== '['
            ? `expected a JSON array ("[" first), got ${JSON.stringify(c)}`
            : undefined;
        if (unexpected) {
          this.failed = true;
          out.push({ line: this.line, parseError: unexpected });
          return out;
        }
        if (!this.opened) {
          this.opened = true;
          continue;
        }
        if (c === ',') continue;
        if (c === ']') {
          this.closed = true;
          continue;
        }
        this.element = [];
        this.elementLine = this.line;
        this.depth = 0;
        start = i;
      } else if (c === '\n') {
        this.line++;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        if (this.depth === 0) {
          // "]" closing the array right after a primitive element
          emit(i);
          this.closed = true;
        } else if (--this.depth === 0) {
          emit(i + 1);
        }
      } else if (c === ',' && this.depth === 0) {
        emit(i);
      }
    }
    if (this.element !== null) this.element.push(chunk.slice(start));
    return out;
  }

  /** A record describing an unclosed array at the end of input, if any. */
  end(): RawRecord[] {
    if (this.failed || !this.opened || (this.closed && this.element === null)) return [];
    return [{ line: this.line, parseError: 'the JSON array is not closed (file truncated?)' }];
  }
}

/**
 * Elements of a top-level JSON array file, streamed in 64 KB chunks: a 385k-record JSON file is
 * never held as one string.
 */
export async function* jsonArrayElements(file: string): AsyncGenerator<RawRecord> {
  const scanner = new JsonArrayScanner();
  for await (const chunk of readText(file)) yield* scanner.push(chunk);
  yield* scanner.end();
}

/** Records of a JSON array file or a JSON Lines file, told apart by the first character. */
export async function* jsonRecords(file: string, head: string): AsyncGenerator<RawRecord> {
  if (head.trimStart().startsWith('[')) yield* jsonArrayElements(file);
  else yield* jsonLines(file);
}
