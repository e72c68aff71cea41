import type { Registry } from '../plugin/registry.js';
import type { KavaConfigInput } from '../config/schema.js';

/** Loss weights per method (KAVA-METHOD.md §5); a weight of 0 switches a term off. */
const weights = (teacher: number, student: number, codi: number, kv: number): KavaConfigInput['losses'] => ({
  'teacher-ce': { weight: teacher },
  'student-ce': { weight: student },
  codi: { weight: codi },
  kv: { weight: kv },
});

const METHOD_PRESETS: { name: string; description: string; config: KavaConfigInput }[] = [
  {
    name: 'kava',
    description: 'KaVa: Jacobi latents + teacher/student CE + CODI + compressed-KV matching',
    config: { method: 'kava', latent: { mode: 'jacobi' }, losses: weights(1, 1, 10, 1), eval: { mode: 'latent' } },
  },
  {
    name: 'codi',
    description: 'CODI: autoregressive latents + teacher/student CE + CODI hidden-state loss (no KV loss)',
    config: { method: 'codi', latent: { mode: 'autoregressive' }, losses: weights(1, 1, 10, 0), eval: { mode: 'latent' } },
  },
  {
    name: 'pccot',
    description: 'PCCoT: Jacobi latents + teacher/student CE + CODI hidden-state loss (no KV loss)',
    config: { method: 'pccot', latent: { mode: 'jacobi' }, losses: weights(1, 1, 10, 0), eval: { mode: 'latent' } },
  },
  {
    name: 'full-cot',
    description: 'Full CoT: the teacher learns to write its chain of thought, then the answer',
    config: { method: 'full-cot', losses: weights(1, 0, 0, 0), eval: { mode: 'cot' } },
  },
  {
    name: 'no-cot',
    description: 'No-CoT: question -> answer directly',
    config: { method: 'no-cot', losses: weights(1, 0, 0, 0), eval: { mode: 'direct' } },
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
    config: { data: { trace: 'equation' }, losses: { kv: { weight: 1, type: 'smooth-l1' } } },
  },
  {
    name: 'gsm8k-aug-nl',
    description: 'GSM8k-AUG-NL style natural-language traces (pass the file with --data)',
    config: { data: { trace: 'nl' }, losses: { kv: { weight: 1, type: 'mse' } } },
  },
];

/** Registers the method presets and data presets of core (backbone presets come from the family plugins). */
export function registerPresets(registry: Registry): void {
  for (const preset of METHOD_PRESETS) registry.preset({ ...preset, kind: 'method' });
  for (const preset of DATA_PRESETS) registry.preset({ ...preset, kind: 'data' });
}
