import { join } from 'node:path';
import { KavaHooks, HOOK_NAMES, loadPlugins, PluginError, Registry, resolveConfig } from '@kava/core/internal';
import { PLUGIN_FIXTURES, tempProject } from './helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const fixture = (name: string) => join(PLUGIN_FIXTURES, name);

/** A project with a plugin installed in its own node_modules (resolution by npm name). */
function projectWithInstalledPlugin(): string {
  return tempProject({
    'node_modules/kava-plugin-installed/package.json': JSON.stringify({
      name: 'kava-plugin-installed',
      type: 'module',
      main: 'index.js',
    }),
    'node_modules/kava-plugin-installed/index.js':
      "export default { name: 'kava-plugin-installed', register(r) { r.preset({ name: 'installed-preset', kind: 'data', description: 'd', config: { data: { trace: 'nl' } } }); } };\n",
    'kava.config.json': JSON.stringify({ plugins: ['kava-plugin-installed'] }),
  });
}

describe('plugin loading', () => {
  it("loads the application's built-in plugins (the kava command's four) after core's own parts", async () => {
    const set = await loadPlugins([], { builtins: BUILTIN_PLUGINS });
    expect(set.plugins.map((p) => p.name)).toEqual([...BUILTIN_PLUGINS]);
    expect(set.registry.names('scorer')).toEqual(expect.arrayContaining(['rkv', 'rkv-decoding', 'keydiff']));
    expect(set.registry.names('backbone').length).toBeGreaterThanOrEqual(2);
    expect(set.registry.names('loss')).toEqual(['codi', 'kv', 'student-ce', 'teacher-ce']);
    expect(set.registry.get('scorer', 'rkv').plugin).toBe('@kava/plugin-rkv');
  });

  it('loads no plugin package the application does not name (core names none)', async () => {
    const set = await loadPlugins([]);
    expect(set.plugins).toEqual([]);
    expect(set.registry.has('scorer', 'rkv')).toBe(false);
    expect(set.registry.has('loss', 'kv')).toBe(true); // core's own parts stay
  });

  it("leaves the application's built-in plugins out when the config says builtinPlugins: false", async () => {
    const dir = tempProject({
      'kava.config.json': JSON.stringify({ builtinPlugins: false, compression: { scorer: 'knorm' } }),
    });
    const without = await resolveConfig({ cwd: dir, builtinPlugins: BUILTIN_PLUGINS });
    expect(without.plugins.plugins).toEqual([]);
    const withThem = await resolveConfig({ cwd: tempProject(), builtinPlugins: BUILTIN_PLUGINS });
    expect(withThem.plugins.plugins.map((p) => p.name)).toEqual([...BUILTIN_PLUGINS]);
  });

  it("loads a plugin by npm name, resolved from the config file's folder", async () => {
    const dir = projectWithInstalledPlugin();
    const resolved = await resolveConfig({ cwd: dir, presets: ['installed-preset'], builtinPlugins: BUILTIN_PLUGINS });
    expect(resolved.plugins.plugins.map((p) => p.name)).toContain('kava-plugin-installed');
    expect(resolved.config.data.trace).toBe('nl');
  });

  it('loads plugins by path (file or package folder), relative to the config file', async () => {
    const dir = tempProject({ 'conf/kava.config.json': JSON.stringify({ plugins: [] }) });
    const set = await loadPlugins(['../local.mjs'], { baseDir: join(dir, 'conf') }).catch((e: unknown) => e);
    expect((set as Error).message).toMatch(
      /plugin "\.\.\/local\.mjs": cannot find a module at .*local\.mjs \(paths are resolved from .*conf\)/,
    );
    const ok = await loadPlugins(['./local-scorer.mjs', './dir-plugin', './named-export.mjs'], {
      baseDir: PLUGIN_FIXTURES,
    });
    expect(ok.plugins.map((p) => p.name)).toEqual(['local-scorer', 'dir-plugin', 'named-export']);
    expect(ok.registry.get('scorer', 'position').plugin).toBe('local-scorer');
    expect(ok.registry.contributions('dir-plugin')).toEqual({ preset: ['dir-preset'] });
  });

  it('says a plugin is not installed and how to install it', async () => {
    const err = await loadPlugins(['kava-plugin-nowhere'], { baseDir: tempProject() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(
      /plugin "kava-plugin-nowhere": is not installed .*npm install kava-plugin-nowhere/,
    );
  });

  it.each([
    [
      'not-a-plugin.mjs',
      /is not a KaVa plugin \(its default export: expected an object \{ name, register\?, apply\? \}, got number\)/,
    ],
    [
      'missing-functions.mjs',
      /is not a KaVa plugin \(its default export: expected a "register\(registry\)" or "apply\(hooks\)" function\)/,
    ],
  ])('rejects %s as not a plugin', async (file, message) => {
    await expect(loadPlugins([fixture(file)])).rejects.toThrow(message);
  });

  it('names both plugins when two register the same name', async () => {
    await expect(loadPlugins([fixture('local-scorer.mjs'), fixture('same-scorer-name.mjs')])).rejects.toThrow(
      'plugin "same-scorer-name": scorer "position" is already registered by plugin "local-scorer"',
    );
    await expect(
      loadPlugins([fixture('same-scorer-name.mjs')], { builtins: BUILTIN_PLUGINS }).then(() =>
        loadPlugins(
          [
            {
              name: 'dup',
              register: (r: Registry) =>
                r.scorer({
                  name: 'rkv',
                  description: '',
                  create: () => {
                    throw new Error();
                  },
                }),
            },
          ],
          { builtins: BUILTIN_PLUGINS },
        ),
      ),
    ).rejects.toThrow('plugin "dup": scorer "rkv" is already registered by plugin "@kava/plugin-rkv"');
  });

  it('names the plugin whose register() throws', async () => {
    await expect(loadPlugins([fixture('register-throws.mjs')])).rejects.toThrow(
      'plugin "register-throws": register() failed: boom in register',
    );
  });
});

describe('hooks', () => {
  it('declares every lifecycle hook once and cannot be extended', () => {
    const hooks = new KavaHooks();
    expect(Object.keys(hooks).sort()).toEqual([...HOOK_NAMES].sort());
    expect(Object.isFrozen(hooks)).toBe(true);
  });

  it('calls taps in plugin load order', async () => {
    const set = await loadPlugins(['./local-scorer.mjs', './named-export.mjs'], { baseDir: PLUGIN_FIXTURES });
    const run = { runDir: '/tmp/x', kind: 'train' as const, config: {} as never };
    await set.hooks.runStart.promise(run);
    expect((run.config as { __seenBy: string[] }).__seenBy).toEqual(['local-scorer', 'named-export']);
  });

  it('waterfall hooks let a plugin replace values', () => {
    const hooks = new KavaHooks();
    hooks.losses.tap('a', (terms) => ({ ...terms, extra: 1 as never }));
    hooks.losses.tap('b', (terms) => ({ ...terms, seen: Object.keys(terms).length as never }));
    expect(hooks.losses.call({}, { step: 0 })).toEqual({ extra: 1, seen: 1 });
  });
});
