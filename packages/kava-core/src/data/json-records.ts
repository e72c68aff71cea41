import { createReadStream } from 'node:fs';
import { readLines } from './read-lines.js';

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

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\ufeff']);

/**
 * Elements of a top-level JSON array, streamed: the file is scanned chunk by chunk and only one
 * element's text is held at a time (a 385k-record JSON file never becomes one string). Each
 * element is parsed with JSON.parse; the scanner only tracks strings and nesting to find where
 * elements end.
 */
export async function* jsonArrayElements(file: string): AsyncGenerator<RawRecord> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  let line = 1;
  let opened = false;
  let closed = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element: string[] | null = null; // pieces of the current element's text
  let elementLine = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = element ? 0 : -1; // where the current element's text begins in this chunk
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (element === null) {
          if (c === '\n') line++;
          if (WHITESPACE.has(c)) continue;
          if (closed) return yield { line, parseError: `unexpected ${JSON.stringify(c)} after the closing "]"` };
          if (!opened) {
            if (c !== '[') return yield { line, parseError: `expected a JSON array ("[" first), got ${JSON.stringify(c)}` };
            opened = true;
            continue;
          }
          if (c === ',') continue;
          if (c === ']') { closed = true; continue; }
          element = [];
          elementLine = line;
          start = i;
          depth = 0;
        } else if (c === '\n') {
          line++;
        }
        // Inside an element: find its end.
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          if (depth === 0) { // "]" closing the array right after a primitive element
            element.push(chunk.slice(start, i));
            yield parse(elementLine, element.join(''));
            element = null;
            closed = true;
            continue;
          }
          depth--;
          if (depth === 0) {
            element.push(chunk.slice(start, i + 1));
            yield parse(elementLine, element.join(''));
            element = null;
          }
        } else if (c === ',' && depth === 0) {
          element.push(chunk.slice(start, i));
          yield parse(elementLine, element.join(''));
          element = null;
        }
      }
      if (element !== null) element.push(chunk.slice(start));
    }
    if (!opened) return;
    if (element !== null || !closed) yield { line, parseError: 'the JSON array is not closed (file truncated?)' };
  } finally {
    stream.destroy();
  }
}

/** Records of a JSON array file or a JSON Lines file, told apart by the first character. */
export async function* jsonRecords(file: string, head: string): AsyncGenerator<RawRecord> {
  if (head.trimStart().replace(/^\ufeff/, '').startsWith('[')) yield* jsonArrayElements(file);
  else yield* jsonLines(file);
}
