// Writes docs/configuration.md from the config schema and the built-in plugins' registrations.
import { writeFileSync } from 'node:fs';
import { configReference, loadPlugins } from '@kava/core/app';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const text = configReference(await loadPlugins([], { builtins: BUILTIN_PLUGINS }));
writeFileSync(new URL('../docs/configuration.md', import.meta.url), text);
console.log(`docs/configuration.md: ${text.split('\n').length} lines`);
