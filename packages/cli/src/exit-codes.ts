/**
 * The CLI's exit codes, as docs/cli.md lists them: 0 done, 1 failure at run time, 2 usage,
 * configuration or input error, 128 + the signal number when a signal interrupted the command
 * (130 for SIGINT / Ctrl-C, 143 for SIGTERM), as shells and schedulers expect.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The signals `kava train` stops cleanly on, with the exit code each one ends the command with. */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Thrown by a command that has finished its work (and printed what it had to) but must end with
 * a code other than 0, e.g. a training run stopped by a signal: main returns the code, silently.
 */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
  }
}
