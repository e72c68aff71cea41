import { existsSync, statSync } from 'node:fs';
import type { DatasetFormat, DatasetSource } from '../contracts/dataset.js';
import { ConfigError } from '../errors.js';
import type { Registry } from '../plugin/registry.js';
import { JsonArrayScanner } from './json-records.js';
import { readText } from './read-lines.js';

/** What sniffing reads at least (the head a format's `sniff` sees)... */
const SNIFF_HEAD = 1 << 16;
/** ...and at most, looking for the end of the first record. */
export const SNIFF_LIMIT = 64 * 2 ** 20;

/**
 * A function fed a file's text chunk by chunk that says when its first record has ended: the
 * first element of a JSON array, else the first non-blank line.
 */
function firstRecordEnd(): (chunk: string) => boolean {
  let kind: 'blank' | 'line' | 'array' = 'blank';
  const scanner = new JsonArrayScanner();
  return (chunk) => {
    let rest = chunk;
    if (kind === 'blank') {
      const start = chunk.search(/\S/);
      if (start < 0) return false;
      kind = chunk[start] === '[' ? 'array' : 'line';
      rest = chunk.slice(start);
    }
    return kind === 'array' ? scanner.push(rest).length > 0 : rest.includes('\n');
  };
}

/**
 * The head a format sniffs: the file's first 64 KB, read on to the end of its first record, so a
 * single record larger than a fixed prefix (a 5 MB question) is not cut into something no format
 * recognises. `complete` is false when the first record runs past SNIFF_LIMIT.
 */
export async function readSniffHead(file: string, limit = SNIFF_LIMIT): Promise<{ head: string; complete: boolean }> {
  const ended = firstRecordEnd();
  const parts: string[] = [];
  let length = 0;
  let done = false;
  for await (const chunk of readText(file, { bytes: limit })) {
    parts.push(chunk);
    length += chunk.length;
    done ||= ended(chunk);
    if (done && length >= SNIFF_HEAD) break;
  }
  return { head: parts.join(''), complete: done || statSync(file).size <= limit };
}

/**
 * Why no format could be told, when the file itself is the reason (empty, only whitespace, a first
 * record too long to sniff), rather than naming formats that could never have matched.
 */
function unsniffable(file: string, head: string, complete: boolean, field: string, names: string): string | undefined {
  if (statSync(file).size === 0) return `${file} is empty (0 bytes): there are no records to read`;
  if (head.trim() === '') return `${file} holds only whitespace: there are no records to read`;
  if (!complete)
    return `the first record of ${file} runs past ${SNIFF_LIMIT / 2 ** 20} MB (no line end and no closed array element), too far to tell its format; set ${field} to one of: ${names}`;
  return undefined;
}

/**
 * The one format among `formats` whose `sniff` accepts the file's head (readSniffHead); a
 * ConfigError when none or several do (then the user sets the format explicitly), or when the file
 * is empty, not UTF-8 text, or binary. `fileField` names the setting that gave the file.
 */
export async function sniffFormat(
  file: string,
  formats: readonly DatasetFormat[],
  field = 'data.format',
  fileField?: string,
): Promise<DatasetFormat> {
  assertDataFile(file, fileField);
  const { head, complete } = await readSniffHead(file);
  const names = formats.map((f) => f.name).join(', ');
  const reason = unsniffable(file, head, complete, field, names);
  if (reason) throw new ConfigError(`${fileField ?? field}: ${reason}`);
  const matches = formats.filter((f) => f.sniff?.(head, file) ?? false);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw new ConfigError(
      `${field}: cannot tell the format of ${file} from its first record; set ${field} to one of: ${names}`,
    );
  throw new ConfigError(
    `${field}: ${file} could be ${matches.map((f) => f.name).join(' or ')}; set ${field} to the right one`,
  );
}

/** A missing data file is named as such, by the field or flag that named it (not blamed on the format). */
function assertDataFile(file: string, fileField: string | undefined): void {
  if (!existsSync(file)) throw new ConfigError(`${fileField ? `${fileField}: ` : ''}data file not found: ${file}`);
}

/**
 * Opens a data file with the named format from the registry, or sniffs it when `format` is
 * "auto". The synthetic format takes a split name ("train" / "test") instead of a file.
 */
export async function openDataset(
  registry: Registry,
  file: string,
  format = 'auto',
  field = 'data.format',
  fileField?: string,
): Promise<DatasetSource> {
  if (format !== 'auto') {
    const chosen = registry.get('dataset', format, field);
    if (chosen.name !== 'synthetic') assertDataFile(file, fileField);
    return chosen.open(file);
  }
  return (await sniffFormat(file, registry.list('dataset'), field, fileField)).open(file);
}
