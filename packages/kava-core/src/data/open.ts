import { existsSync } from 'node:fs';
import type { DatasetFormat, DatasetSource } from '../contracts/dataset.js';
import { ConfigError } from '../errors.js';
import type { Registry } from '../plugin/registry.js';
import { readHead } from './read-lines.js';

/**
 * The one format among `formats` whose `sniff` accepts the file's first bytes; a ConfigError
 * naming `field` when none or several do (then the user sets the format explicitly).
 */
export async function sniffFormat(
  file: string,
  formats: readonly DatasetFormat[],
  field = 'data.format',
): Promise<DatasetFormat> {
  if (!existsSync(file)) throw new ConfigError(`data file not found: ${file}`);
  const head = await readHead(file);
  const matches = formats.filter((f) => f.sniff?.(head, file) ?? false);
  if (matches.length === 1) return matches[0]!;
  const names = formats.map((f) => f.name).join(', ');
  if (matches.length === 0)
    throw new ConfigError(
      `${field}: cannot tell the format of ${file} from its first record; set ${field} to one of: ${names}`,
    );
  throw new ConfigError(
    `${field}: ${file} could be ${matches.map((f) => f.name).join(' or ')}; set ${field} to the right one`,
  );
}

/** A missing data file is named as such, by the field or flag that named it (not blamed on the format). */
function assertDataFile(file: string, fileField: string | undefined): void {
  if (!existsSync(file)) throw new ConfigError(`${fileField ? `${fileField}: ` : ''}data file not found: ${file}`);
}

/**
 * Opens a data file with the named format from the registry, or sniffs it when `format` is
 * "auto". The synthetic format takes a split name ("train" / "test") instead of a file.
 */
export async function openDataset(
  registry: Registry,
  file: string,
  format = 'auto',
  field = 'data.format',
  fileField?: string,
): Promise<DatasetSource> {
  if (format !== 'auto') {
    const chosen = registry.get('dataset', format, field);
    if (chosen.name !== 'synthetic') assertDataFile(file, fileField);
    return chosen.open(file);
  }
  assertDataFile(file, fileField);
  return (await sniffFormat(file, registry.list('dataset'), field)).open(file);
}
