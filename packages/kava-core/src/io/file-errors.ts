import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KavaError } from '../errors.js';

/**
 * File-system errors a user can act on. Node's own messages name no path for a write to an open
 * file ("ENOSPC: no space left on device, write"), and a recursive mkdir under a read-only folder
 * can report ENOENT; these helpers name the path and say the reason in words.
 */

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EMFILE: 'too many open files',
};

/** A KavaError for `error` met while trying to `action` (e.g. "write") `path`, naming both. */
export function fileError(path: string, action: string, error: unknown): KavaError {
  if (error instanceof KavaError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = (code && REASONS[code]) ?? (error as Error).message;
  return new KavaError(`${path}: cannot ${action}: ${reason}${code ? ` (${code})` : ''}`, { cause: error });
}

/** Runs `fn`, turning a file-system error into one that names `path`. */
export function withFile<T>(path: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fileError(path, action, error);
  }
}

/**
 * `mkdir -p path`, with the real reason when it fails: the first missing folder is made alone, so
 * a read-only or unwritable parent is reported as such (naming that folder), not as ENOENT.
 */
export function makeDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
    return;
  } catch (error) {
    const missing: string[] = [];
    for (let dir = path; !existsSync(dir) && dirname(dir) !== dir; dir = dirname(dir)) missing.unshift(dir);
    for (const dir of missing) {
      try {
        mkdirSync(dir);
      } catch (inner) {
        throw fileError(dir, 'create the folder', inner);
      }
    }
    throw fileError(path, 'create the folder', error);
  }
}
