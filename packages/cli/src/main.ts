import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { configCommand } from './commands/config.js';
import { pluginsCommand } from './commands/plugins.js';
import { initCommand } from './commands/init.js';
import { trainCommand } from './commands/train.js';
import { reportCommand } from './commands/report.js';
import { evalCommand } from './commands/eval.js';
import { inferCommand } from './commands/infer.js';
import { compressCommand } from './commands/compress.js';
import { exportCommand } from './commands/export.js';
import { doctorCommand } from './commands/doctor.js';
import { downloadCommand } from './commands/download.js';
import { experimentCommand } from './commands/experiment.js';
import { reportError } from './report-error.js';
import { CommandExit, EXIT_OK } from './exit-codes.js';

/** The installed @kava/cli version (dist/main.js sits one folder below package.json). */
const CLI_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Builds the `kava` program. Each command lives in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('kava')
    .description('KaVa: train language models to reason in latent tokens by distilling a compressed KV-cache')
    .version(CLI_VERSION, '-V, --version', 'print the version of kava (@kava/cli) and exit')
    .option('-v, --verbose', 'print stack traces on errors')
    .exitOverride()
    .showHelpAfterError('(run kava --help for usage)');
  trainCommand(program);
  evalCommand(program);
  inferCommand(program);
  compressCommand(program);
  exportCommand(program);
  reportCommand(program);
  experimentCommand(program);
  configCommand(program);
  pluginsCommand(program);
  initCommand(program);
  downloadCommand(program);
  doctorCommand(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code (exit-codes.ts: 0 ok, 1 runtime failure, 2 usage/config/input error, 130/143 interrupted). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommandExit) return err.exitCode;
    if (
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
    )
      return 0;
    return reportError(err, argv.includes('--verbose') || argv.includes('-v'));
  }
}
