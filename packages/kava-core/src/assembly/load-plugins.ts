import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginError } from '../errors.js';
import { KavaHooks } from '../plugin/hooks.js';
import { Registry } from '../plugin/registry.js';
import { whyNotAPlugin, type KavaPlugin } from '../plugin/plugin.js';
import { registerCore } from './core-parts.js';

/** A plugin as a configuration names it (an npm name or a path) or as an object. */
export type PluginSpec = string | KavaPlugin;

export interface LoadedPlugin {
  name: string;
  /** What the config named: a package name, a path, or "(core)". */
  source: string;
  plugin: KavaPlugin;
}

/** The loaded plugins: the registry they filled, the hooks they tapped, and each plugin. */
export interface PluginSet {
  registry: Registry;
  hooks: KavaHooks;
  plugins: LoadedPlugin[];
}

const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec);

/** Imports a plugin module by path (relative to `baseDir`) or npm name (resolved from `baseDir`). */
async function importPlugin(spec: string, baseDir: string): Promise<unknown> {
  let url: string | null = null;
  if (isPath(spec)) {
    const requireFrom = createRequire(join(baseDir, 'noop.js'));
    const path = resolve(baseDir, spec);
    try {
      url = pathToFileURL(requireFrom.resolve(path)).href;
    } catch {
      throw new PluginError(spec, `cannot find a module at ${path} (paths are resolved from ${baseDir})`);
    }
  } else {
    try {
      url = pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(spec)).href;
    } catch {
      url = null; // fall back to resolution from @kava/core itself (built-ins, global installs)
    }
  }
  try {
    return await import(url ?? spec);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (url === null && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(spec)) {
      throw new PluginError(
        spec,
        `is not installed (looked in ${baseDir} and next to @kava/core). Install it with: npm install ${spec}`,
      );
    }
    throw new PluginError(spec, `failed to load: ${message}`, { cause: err });
  }
}

/** The plugin object a module exports: `default`, or a named `plugin` export. */
function pluginFromModule(spec: string, mod: unknown): KavaPlugin {
  const m = mod as Record<string, unknown>;
  let candidate: unknown = m?.default ?? m?.plugin;
  // A CommonJS module whose module.exports is the plugin arrives as `default`; one that sets
  // exports.default arrives as default.default.
  if (candidate && typeof candidate === 'object' && 'default' in candidate && whyNotAPlugin(candidate) !== null) {
    candidate = (candidate as Record<string, unknown>).default;
  }
  const why = whyNotAPlugin(candidate);
  if (why !== null) {
    throw new PluginError(
      spec,
      `is not a KaVa plugin (its default export: ${why}). A plugin exports ` +
        '`export default { name: "...", register(registry) {...}, apply(hooks) {...} }`.',
    );
  }
  return candidate as KavaPlugin;
}

/**
 * Loads core's own parts, then `builtins` (the plugins the application ships: the `kava` command
 * passes its list, core names none) and `specs` (package names or paths resolved from `baseDir`,
 * usually the config file's folder), registers them in order and lets each tap the hooks.
 */
export async function loadPlugins(
  specs: readonly PluginSpec[],
  options: { baseDir?: string; builtins?: readonly PluginSpec[] } = {},
): Promise<PluginSet> {
  const baseDir = options.baseDir ?? process.cwd();
  const registry = new Registry();
  const hooks = new KavaHooks();
  const plugins: LoadedPlugin[] = [];
  registerCore(registry);

  const all: PluginSpec[] = [...(options.builtins ?? []), ...specs];
  const seen = new Set<string>();
  for (const spec of all) {
    const source = typeof spec === 'string' ? spec : '(inline)';
    let plugin: KavaPlugin;
    if (typeof spec === 'string') {
      plugin = pluginFromModule(spec, await importPlugin(spec, baseDir));
    } else {
      const why = whyNotAPlugin(spec);
      if (why !== null) throw new PluginError('(inline)', `is not a KaVa plugin: ${why}`);
      plugin = spec;
    }
    if (seen.has(plugin.name)) continue; // the same plugin named twice (e.g. a built-in listed again)
    seen.add(plugin.name);
    registry.withPlugin(plugin.name, () => {
      try {
        plugin.register?.(registry);
      } catch (err) {
        if (err instanceof PluginError) throw err;
        throw new PluginError(plugin.name, `register() failed: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
    });
    try {
      plugin.apply?.(hooks);
    } catch (err) {
      throw new PluginError(plugin.name, `apply() failed: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    plugins.push({ name: plugin.name, source, plugin });
  }
  return { registry, hooks, plugins };
}
