import type { DatasetSource, Example, ReadOptions } from '../contracts/dataset.js';
import { DataRecordError, FieldError } from './record-error.js';

/** A record as read from a file, before the format's parser sees it. */
export interface SourceRecord<R> {
  line: number;
  value?: R;
  /** Set when the record could not even be parsed (bad JSON, bad text line). */
  parseError?: string;
}

/** Turns one record into an Example, throwing FieldError for a bad field. */
export type RecordParser<R> = (value: R, options: ReadOptions, id: string) => Example;

/**
 * A DatasetSource over the records of one file: parses each record with the format's parser,
 * reports a bad record with file, line and field, or (with `skipInvalid`) skips and counts it.
 * `skipped` holds the count of the last iteration.
 */
export class RecordSource<R> implements DatasetSource {
  skipped = 0;
  /** The first problems seen while skipping (at most 20), for a summary. */
  skippedReasons: string[] = [];

  constructor(
    readonly name: string,
    readonly file: string,
    private readonly records: () => AsyncIterable<SourceRecord<R>>,
    private readonly parse: RecordParser<R>,
  ) {}

  async *examples(options: ReadOptions = {}): AsyncGenerator<Example> {
    this.skipped = 0;
    this.skippedReasons = [];
    for await (const record of this.records()) {
      let example: Example;
      try {
        if (record.parseError !== undefined) throw new FieldError('(record)', record.parseError);
        example = this.parse(record.value as R, options, `${this.file}:${record.line}`);
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        const problem = new DataRecordError(this.file, record.line, error.field, error.expected);
        if (!options.skipInvalid) throw problem;
        this.skipped++;
        if (this.skippedReasons.length < 20) this.skippedReasons.push(problem.message);
        continue;
      }
      yield example;
    }
  }
}
