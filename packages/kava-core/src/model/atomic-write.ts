import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, which is
 * flushed and then renamed over `path`. A crash or an error midway leaves either the old file
 * or the new one, never a truncated one. `write` receives a function that appends bytes.
 */
export function writeFileAtomic(path: string, write: (append: (bytes: Uint8Array) => void) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    write((bytes) => {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    });
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  renameSync(temp, path);
}

/** Atomically writes a text file (JSON configs). */
export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, (append) => append(Buffer.from(text, 'utf8')));
}
