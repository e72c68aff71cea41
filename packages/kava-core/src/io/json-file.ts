import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { KavaError } from '../errors.js';
import { withFile } from './file-errors.js';

/**
 * Reading back the JSON files a run writes (state.json, config.json, metrics.jsonl, eval.jsonl):
 * every error names the file and, the files being text, the line and column, so a corrupt file
 * can be found and fixed by hand. Errors are input errors (exit code 2).
 */

/** 1-based line and column of character `position` in `text`. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}

/**
 * Where JSON.parse failed, from V8's message ("… at position N", "Unexpected end of JSON
 * input" meaning the end of the text).
 */
export function jsonErrorLocation(text: string, error: unknown): { line: number; column: number } {
  const message = error instanceof Error ? error.message : '';
  const at = /at position (\d+)/.exec(message);
  return lineAndColumn(text, at ? Number(at[1]) : text.length);
}

/** Parses `text` (the content of `file`, which starts at line `firstLine`), or throws a KavaError naming file:line:column. */
export function parseJsonText(text: string, file: string, firstLine = 1): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const { line, column } = jsonErrorLocation(text, error);
    const reason = (error as Error).message.replace(/ in JSON at position \d+.*$/, '');
    throw new KavaError(`${file}:${line + firstLine - 1}:${column}: not valid JSON (${reason})`, {
      exitCode: 2,
      cause: error,
    });
  }
}

/** Reads a file as text, naming it when it cannot be read. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new KavaError(`${file}: cannot read (${(error as Error).message})`, { exitCode: 2, cause: error });
  }
}

/** Reads and parses a JSON file; syntax errors name file:line:column. */
export function readJsonFile(file: string): unknown {
  return parseJsonText(readTextFile(file), file);
}

/** A JSON object read from `file`, or an error naming the file. */
export function readJsonObject(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new KavaError(`${file}: expected a JSON object`, { exitCode: 2 });
  return value as Record<string, unknown>;
}

export interface JsonLinesOptions {
  /**
   * Called for an unfinished last line (no final newline) that does not parse: what a crash in
   * the middle of an append leaves. The line is dropped. Without this option it is an error.
   */
  onTornLine?: (line: number, text: string) => void;
}

/**
 * The values of an append-only JSON-lines file. A line that does not parse is an error naming
 * file:line:column, except a torn last line when `onTornLine` is given: that one is reported to
 * it and dropped, never the lines before it.
 */
export function readJsonLines<T = unknown>(file: string, options: JsonLinesOptions = {}): T[] {
  const lines = readTextFile(file).split('\n');
  // After a final newline split leaves "", so an unfinished last line is a non-empty last element.
  const unfinished = lines.length - 1;
  const rows: T[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    if (i === unfinished && options.onTornLine) {
      try {
        rows.push(JSON.parse(text) as T);
      } catch {
        options.onTornLine(i + 1, text);
      }
      return;
    }
    rows.push(parseJsonText(text, file, i + 1) as T);
  });
  return rows;
}

/**
 * Appends one JSON line to `file`. A last line left unfinished by a crash mid-append is cut off
 * first, so the new record never glues onto it (the torn fragment held no whole record).
 */
export function appendJsonLine(file: string, value: unknown): void {
  withFile(file, 'append to', () => appendCut(file, value));
}

function appendCut(file: string, value: unknown): void {
  if (existsSync(file)) {
    const size = statSync(file).size;
    if (size > 0) {
      const fd = openSync(file, 'r');
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      closeSync(fd);
      if (last[0] !== 0x0a) {
        const text = readFileSync(file, 'utf8');
        truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      }
    }
  }
  appendFileSync(file, `${JSON.stringify(value)}\n`);
}
