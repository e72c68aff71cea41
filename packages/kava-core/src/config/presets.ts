import type { KavaConfigInput } from './schema.js';

/**
 * A named partial configuration. Presets are applied over the built-in defaults and under the
 * config file. A backbone preset (tiny-llama, llama-1b...), a method preset (kava, codi...) and a
 * data preset (synthetic, gsm8k-aug...) combine: `--preset llama-1b,codi,gsm8k-aug-nl`.
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

/** Splits "a,b" / ["a", "b,c"] into preset names. */
export function presetNames(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}
