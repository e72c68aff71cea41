/**
 * Errors a user can act on. `exitCode` follows the CLI contract: 2 for usage or configuration
 * mistakes (fix your command or config), 1 for failures at run time.
 */
export class KavaError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, options: { exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KavaError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A configuration or usage error (exit code 2). */
export class ConfigError extends KavaError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
    this.name = 'ConfigError';
  }
}

/** A plugin could not be loaded or is inconsistent with another one (exit code 2). */
export class PluginError extends KavaError {
  readonly plugin: string;
  constructor(plugin: string, message: string, options: { cause?: unknown } = {}) {
    super(`plugin "${plugin}": ${message}`, { ...options, exitCode: 2 });
    this.name = 'PluginError';
    this.plugin = plugin;
  }
}
