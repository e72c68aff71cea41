import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KavaError } from '../errors.js';

/** The lock file in a run folder: who writes the run now. */
export const LOCK_FILE = '.lock';

interface LockOwner {
  pid: number;
  host: string;
  /** Linux's boot id: a pid from before a reboot names no process of ours. */
  boot: string | null;
  started: string;
}

const bootId = (): string | null => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
};

/** Whether the process that wrote `owner` may still be running (on another host: assume it is). */
function alive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  const boot = bootId();
  if (boot && owner.boot && boot !== owner.boot) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** A held run-folder lock; `release` is idempotent. */
export interface RunLock {
  /** Removes the lock file (once; later calls do nothing). */
  release(): void;
}

/**
 * Makes `runDir` this process's until `release`: an advisory lock file created exclusively
 * (O_EXCL), naming the process. Two trainings of one folder (two starts with the same --run-dir,
 * two resumes of one run) would interleave their metrics rows and checkpoints; the second is
 * refused, naming the first. A lock left by a process that no longer runs (killed with -9, a
 * reboot) is taken over, said through `log`. Released on exit too, so a crash that still runs
 * exit handlers leaves no lock behind.
 */
export function lockRunDir(runDir: string, log: (line: string) => void = () => {}): RunLock {
  const file = join(runDir, LOCK_FILE);
  mkdirSync(runDir, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      // An unreadable lock younger than a few seconds is being written by its owner right now.
      const stat = statSync(file, { throwIfNoEntry: false });
      if (!stat) continue; // released meanwhile: try again
      const writing = !owner && Date.now() - stat.mtimeMs < 5000;
      if (writing)
        throw new KavaError(`${runDir} is being taken by another training right now (${file}); try again in a moment`);
      if (owner && alive(owner))
        throw new KavaError(
          `${runDir} is being written by another training (process ${owner.pid} on ${owner.host}, started ${owner.started}; its lock is ${file}); wait for it to finish or stop it, or write this run to another folder`,
        );
      log(
        `${file}: a lock left by ${owner ? `process ${owner.pid}, which no longer runs` : 'a process that stopped while taking it'}; taking the run over`,
      );
      rmSync(file, { force: true });
      continue;
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), boot: bootId(), started: new Date().toISOString() };
    writeSync(fd, `${JSON.stringify(owner)}\n`);
    closeSync(fd);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.off('exit', release);
      // Only our own lock: never one another process took over meanwhile.
      if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
    };
    process.on('exit', release);
    return { release };
  }
  throw new KavaError(`${file}: could not take the run folder's lock (another process keeps taking it)`);
}

function readOwner(file: string): LockOwner | null {
  if (!existsSync(file)) return null;
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null; // torn or empty: written by a process that died while taking the lock
  }
}
