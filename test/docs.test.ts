// The configuration reference in docs/ is generated from the schema and the built-in plugins;
// this keeps it true to the code (regenerate with `npm run docs:config`).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configReference, loadPlugins } from '@kava/core/app';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('docs', () => {
  it('docs/configuration.md matches the schema and the built-in plugins (run npm run docs:config)', async () => {
    const expected = configReference(await loadPlugins([], { builtins: BUILTIN_PLUGINS }));
    expect(readFileSync(join(REPO, 'docs/configuration.md'), 'utf8')).toBe(expected);
  });
});
