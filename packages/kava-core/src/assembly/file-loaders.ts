import { spawnSync } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { defaultLoaders, type Loader } from 'cosmiconfig';
import { ConfigError } from '../errors.js';
import { parseJsonText } from '../io/json-file.js';

/**
 * cosmiconfig loaders whose errors name `file:line:column` and what is wrong there, for every
 * format a config file may have. cosmiconfig's own JS loader falls back to require() when
 * import() fails, which on a syntax error in an ES module prints Node's internal "Cannot require()
 * ES Module … race condition" message and no line; its JSON and YAML errors are code frames.
 */

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where a JS file has a syntax error. V8 does not say for an ES module that fails to compile
 * under import(), so `node --check` (which prints "file:LINE", the line, and a caret under the
 * column) reads it again; this runs only on the error path.
 */
function syntaxErrorAt(file: string): { line: number; column: number } | null {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
  const lines = check.stderr.split('\n');
  const header = lines.findIndex((l) => /:\d+$/.test(l) && l.includes(file));
  if (header < 0) return null;
  const caret = lines[header + 2]?.indexOf('^') ?? -1;
  return { line: Number(/:(\d+)$/.exec(lines[header]!)![1]), column: caret + 1 };
}

/** Where in `file` an error thrown while evaluating it happened, from its stack. */
function runtimeErrorAt(file: string, href: string, error: Error): { line: number; column: number } | null {
  const frame = new RegExp(`(?:${escape(href)}|${escape(file)}):(\\d+):(\\d+)`).exec(error.stack ?? '');
  return frame ? { line: Number(frame[1]), column: Number(frame[2]) } : null;
}

/** .js, .mjs and .cjs configs, through import() only (which loads CommonJS files too). */
export const loadJsConfig: Loader = async (file) => {
  const href = pathToFileURL(await realpath(file)).href;
  try {
    return ((await import(href)) as { default?: unknown }).default;
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    const at = error instanceof SyntaxError ? syntaxErrorAt(file) : runtimeErrorAt(file, href, error);
    throw new ConfigError(`${file}${at ? `:${at.line}:${at.column}` : ''}: ${error.name}: ${error.message}`, {
      cause: error,
    });
  }
};

export const loadJsonConfig: Loader = (file, content) => {
  try {
    return parseJsonText(content, file);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
};

/** YAML (also extension-less `.kavarc`): js-yaml's error carries the 0-based line and column. */
export const loadYamlConfig: Loader = (file, content) => {
  try {
    return defaultLoaders['.yaml'](file, content);
  } catch (err) {
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    throw new ConfigError(`${file}${mark ? `:${mark.line + 1}:${mark.column + 1}` : ''}: not valid YAML (${reason})`, {
      cause: err,
    });
  }
};

export const CONFIG_LOADERS = {
  '.js': loadJsConfig,
  '.mjs': loadJsConfig,
  '.cjs': loadJsConfig,
  '.json': loadJsonConfig,
  '.yaml': loadYamlConfig,
  '.yml': loadYamlConfig,
  noExt: loadYamlConfig,
};
