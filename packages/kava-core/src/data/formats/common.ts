import type { DatasetFormat, ReadOptions } from '../../contracts/dataset.js';
import { JsonArrayScanner, jsonRecords } from '../json-records.js';
import { readHead } from '../read-lines.js';
import { asObject } from '../record-error.js';
import { RecordSource, type RecordParser } from '../record-source.js';

/** The first JSON record in a file's head (an array's first element or the first line), or undefined. */
export function firstJsonRecord(head: string): Record<string, unknown> | undefined {
  const text = head.trimStart();
  let value: unknown;
  if (text.startsWith('[')) {
    value = new JsonArrayScanner().push(text)[0]?.value;
  } else {
    try {
      value = JSON.parse(text.split('\n', 1)[0]!);
    } catch {
      return undefined;
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** True when the record has every key of `keys`. */
export function hasKeys(record: Record<string, unknown> | undefined, keys: readonly string[]): boolean {
  return record !== undefined && keys.every((k) => k in record);
}

/**
 * A format over JSON / JSON Lines records: the file's first bytes decide array vs lines, and
 * each record goes through `parse` as an object.
 */
export function jsonFormat(
  name: string,
  description: string,
  sniff: (record: Record<string, unknown> | undefined, file: string) => boolean,
  parse: (record: Record<string, unknown>, options: ReadOptions, id: string) => ReturnType<RecordParser<unknown>>,
): DatasetFormat {
  return {
    name,
    description,
    sniff: (head, file) => sniff(firstJsonRecord(head), file),
    open(file) {
      let head: Promise<string> | undefined;
      return new RecordSource<unknown>(
        name,
        file,
        async function* () {
          head ??= readHead(file, 256);
          yield* jsonRecords(file, await head);
        },
        (value, options, id) => parse(asObject(value), options, id),
      );
    },
  };
}
