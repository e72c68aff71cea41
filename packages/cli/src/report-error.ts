import { CommanderError } from 'commander';
import { KavaError } from '@kava/core/app';

/**
 * Turns any failure into one clear paragraph on stderr and the CLI's exit code: 2 for usage or
 * configuration errors, 1 for failures at run time. Stack traces only with --verbose.
 */
export function reportError(err: unknown, verbose: boolean, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument...).
    return err.exitCode === 0 ? 0 : 2;
  }
  const code = err instanceof KavaError ? err.exitCode : 1;
  const message = err instanceof Error ? err.message : String(err);
  write(`kava: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) write(`${err.stack}\n`);
  else if (!(err instanceof KavaError)) write('(run with --verbose for the stack trace)\n');
  return code;
}
