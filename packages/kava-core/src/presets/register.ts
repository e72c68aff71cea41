import type { Registry } from '../plugin/registry.js';
import type { KavaConfigInput } from '../config/schema.js';

/** A weight of 0 switches a loss term off (KAVA-METHOD.md §5). */
const off = { weight: 0 };

/**
 * Method presets switch parts on and off; the strengths of the terms that stay on (α1, α2, the
 * KV distance) come from the defaults or a backbone preset's Table 6 row, applied before them.
 */
const METHOD_PRESETS: { name: string; description: string; config: KavaConfigInput }[] = [
  {
    name: 'kava',
    description: 'KaVa: Jacobi latents + teacher/student CE + CODI + compressed-KV matching',
    config: { method: 'kava', latent: { mode: 'jacobi' }, eval: { mode: 'latent' } },
  },
  {
    name: 'codi',
    description: 'CODI: autoregressive latents + teacher/student CE + CODI hidden-state loss (no KV loss)',
    config: { method: 'codi', latent: { mode: 'autoregressive' }, losses: { kv: off }, eval: { mode: 'latent' } },
  },
  {
    name: 'pccot',
    description: 'PCCoT: Jacobi latents + teacher/student CE + CODI hidden-state loss (no KV loss)',
    config: { method: 'pccot', latent: { mode: 'jacobi' }, losses: { kv: off }, eval: { mode: 'latent' } },
  },
  {
    name: 'full-cot',
    description: 'Full CoT: the teacher learns to write its chain of thought, then the answer',
    config: { method: 'full-cot', losses: { 'student-ce': off, codi: off, kv: off }, eval: { mode: 'cot' } },
  },
  {
    name: 'no-cot',
    description: 'No-CoT: question -> answer directly',
    config: { method: 'no-cot', losses: { 'student-ce': off, codi: off, kv: off }, eval: { mode: 'direct' } },
  },
];

const DATA_PRESETS: { name: string; description: string; config: KavaConfigInput }[] = [
  {
    name: 'synthetic',
    description: 'The built-in offline synthetic arithmetic task (no download)',
    config: { data: { format: 'synthetic', train: null, test: null, trace: 'equation' } },
  },
  {
    name: 'gsm8k-aug',
    description: 'GSM8k-AUG style equation traces (pass the file with --data)',
    config: { data: { trace: 'equation' } },
  },
  {
    name: 'gsm8k-aug-nl',
    description: 'GSM8k-AUG-NL style natural-language traces (pass the file with --data)',
    config: { data: { trace: 'nl' } },
  },
];

/** Registers the method presets and data presets of core (backbone presets come from the family plugins). */
export function registerPresets(registry: Registry): void {
  for (const preset of METHOD_PRESETS) registry.preset({ ...preset, kind: 'method' });
  for (const preset of DATA_PRESETS) registry.preset({ ...preset, kind: 'data' });
}
