import { CommanderError } from 'commander';
import { KavaError } from '@kava/core/app';

/**
 * Turns any failure into one clear paragraph on stderr and the CLI's exit code: 2 for usage or
 * configuration errors, 1 for failures at run time. Stack traces only with --verbose.
 */
export function reportError(
  err: unknown,
  verbose: boolean,
  write: (text: string) => void = (t) => process.stderr.write(t),
): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument...).
    return err.exitCode === 0 ? 0 : 2;
  }
  const code = err instanceof KavaError ? err.exitCode : 1;
  const message = err instanceof Error ? err.message : String(err);
  write(`kava: ${message}\n`);
  if (isWasmHeapFault(err)) {
    // tfjs's wasm backend does not check its allocations: a full heap shows up later as a fault.
    write(
      'This is how the wasm backend fails when its 4 GiB heap is full. Check `kava train --dry-run` for the memory estimate; ' +
        'lower train.microBatchSize or the token limits, or use --backend cpu (no heap ceiling).\n',
    );
  }
  if (verbose && err instanceof Error && err.stack) write(`${err.stack}\n`);
  else if (!(err instanceof KavaError)) write('(run with --verbose for the stack trace)\n');
  return code;
}

/** A WebAssembly trap from the wasm backend's memory (out-of-bounds access after a failed allocation). */
function isWasmHeapFault(err: unknown): boolean {
  return err instanceof Error && err.name === 'RuntimeError' && /memory access out of bounds/.test(err.message);
}
