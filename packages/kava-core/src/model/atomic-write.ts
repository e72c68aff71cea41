import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { fileError, makeDir, withFile } from '../io/file-errors.js';
import { dirname, basename, join } from 'node:path';

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, which is
 * flushed and then renamed over `path`. A crash or an error midway leaves either the old file
 * or the new one, never a truncated one. `write` receives a function that appends bytes.
 */
export function writeFileAtomic(path: string, write: (append: (bytes: Uint8Array) => void) => void): void {
  makeDir(dirname(path));
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = withFile(path, 'write', () => openSync(temp, 'w'));
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
    throw fileError(path, 'write', err);
  }
  withFile(path, 'write', () => renameSync(temp, path));
}

/** Atomically writes a text file (JSON configs). */
export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, (append) => append(Buffer.from(text, 'utf8')));
}
