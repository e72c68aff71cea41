import type { KavaConfigInput } from '../config/schema.js';

/**
 * A preset: a run recipe, a named partial configuration (the top-level `preset` of a config, or
 * `--preset`), applied over the built-in defaults and under the config file. A backbone preset
 * (tiny-llama, llama-1b...: it picks a backbone shape and that model's settings), a method
 * preset (kava, codi...) and a data preset (synthetic, gsm8k-aug...) combine:
 * `--preset llama-1b,codi,gsm8k-aug-nl`.
 */
export interface PresetDefinition {
  name: string;
  kind: 'backbone' | 'method' | 'data';
  description: string;
  /**
   * The settings, or a function of every preset name in the same list (so a backbone preset can
   * pick the paper's per-dataset hyper-parameters when a data preset is also named).
   */
  config: KavaConfigInput | ((context: { presets: readonly string[] }) => KavaConfigInput);
}
