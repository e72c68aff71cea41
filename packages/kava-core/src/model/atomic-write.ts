import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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

/**
 * Writes a folder whole or not at all: `fill` writes into a temporary sibling
 * (`.<name>.<pid>.tmp`), which then replaces `dir` (an existing `dir` is removed first; the caller
 * decides whether it may be). A crash or an error in `fill` leaves no half folder behind.
 */
export async function writeFolderAtomic(dir: string, fill: (staging: string) => void | Promise<void>): Promise<void> {
  const staging = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    await fill(staging);
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
