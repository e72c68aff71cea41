/**
 * The plugin packages the `kava` command ships and loads before the configured ones (unless the
 * config says `builtinPlugins: false`). They are dependencies of this package, not of
 * @kava/core: core loads what the application hands it and names no plugin itself.
 */
export const BUILTIN_PLUGINS: readonly string[] = [
  '@kava/plugin-backbone-llama',
  '@kava/plugin-backbone-qwen',
  '@kava/plugin-rkv',
  '@kava/plugin-keydiff',
  '@kava/plugin-presses',
  '@kava/plugin-tensorboard',
];

/** The backbone preset `kava` commands use when none is named: the CPU-sized tiny-llama. */
export const DEFAULT_PRESETS: readonly string[] = ['tiny-llama'];
