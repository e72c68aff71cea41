import { KavaError } from '../errors.js';

/**
 * A problem with one field of one record, thrown by a format's record parser. The reader turns it
 * into a DataRecordError that also names the file and line.
 */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
  ) {
    super(`field "${field}": ${expected}`);
    this.name = 'FieldError';
  }
}

/** A malformed record: names the file, the line the record starts on, the field and what was expected. */
export class DataRecordError extends KavaError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    expected: string,
  ) {
    super(`${file}:${line}: field "${field}": ${expected} (set data.skipInvalid to skip and count bad records)`, {
      exitCode: 2,
    });
    this.name = 'DataRecordError';
  }
}

/** A string field of a parsed JSON record, or a FieldError. Numbers are accepted and written as text. */
export function stringField(
  record: Record<string, unknown>,
  field: string,
  options: { numeric?: boolean } = {},
): string {
  const value = record[field];
  if (typeof value === 'string') {
    if (value.trim() === '') throw new FieldError(field, 'expected a non-empty string, got ""');
    return value;
  }
  if (options.numeric && typeof value === 'number' && Number.isFinite(value)) return String(value);
  const what = value === undefined ? 'it is missing' : `got ${JSON.stringify(value).slice(0, 60)}`;
  throw new FieldError(field, `expected ${options.numeric ? 'a number or string' : 'a string'}, ${what}`);
}

/** The record as a plain object, or a FieldError naming the whole record. */
export function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FieldError('(record)', `expected a JSON object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * A gold answer as text with its thousands commas removed, or a FieldError naming `field` when it
 * is not a number: answers are compared as numbers (KAVA-METHOD.md §6), so "twelve" could never be
 * scored (and with data.skipInvalid such a record is skipped and counted).
 */
export function numericText(text: string, field: string): string {
  const plain = text.trim().replace(/,/g, '');
  if (plain === '' || !Number.isFinite(Number(plain)))
    throw new FieldError(field, `expected a number, got ${JSON.stringify(text.trim())}`);
  return plain;
}

/** A record's numeric gold answer (a number, or text that is one), written canonically ("8.0" -> "8"). */
export function numericAnswer(record: Record<string, unknown>, field: string): string {
  return String(Number(numericText(stringField(record, field, { numeric: true }), field)));
}
