import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One line of a text file with its 1-based number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * Streams a text file line by line (node:readline over a read stream), so a file of any size is
 * never held as one string. Handles LF and CRLF endings.
 */
export async function* readLines(file: string): AsyncGenerator<NumberedLine> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      yield { line, text };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The first `bytes` bytes of a file as text (for sniffing a format without reading the file). */
export async function readHead(file: string, bytes = 65536): Promise<string> {
  const stream = createReadStream(file, { encoding: 'utf8', start: 0, end: bytes - 1 });
  let head = '';
  for await (const chunk of stream) head += chunk as string;
  return head;
}
