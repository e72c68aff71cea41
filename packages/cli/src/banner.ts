import { latentPlan, type ResolvedConfig } from '@kava/core/app';

const LATENT_METHODS = new Set(['kava', 'codi', 'pccot']);

/** `{ lambda: 0.1 }` → "lambda 0.1"; empty → "". */
const options = (o: Record<string, unknown>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
    .join(', ');

/**
 * What a run is, in the words of its settings: the method and its loss weights, the scorer and its
 * options, M and T, the backbone, the backend and the data. Printed when `kava train` starts and by
 * `--dry-run`, so a run never starts without saying what it trains.
 */
export function runBanner(resolved: ResolvedConfig, backend: string): string[] {
  const { config } = resolved;
  const latent = LATENT_METHODS.has(config.method);
  const weights = Object.entries(config.losses)
    .filter(([, l]) => l.weight > 0)
    .map(([name, l]) => `${name} ${l.weight}`)
    .join(', ');
  const kv = config.losses.kv?.weight ?? 0;
  const scorer =
    latent && kv > 0
      ? `scorer ${config.compression.scorer}${Object.keys(config.compression.options).length ? ` (${options(config.compression.options)})` : ''}, keeps M per layer and KV head`
      : 'no KV compression (no KV loss)';
  const rollout = latentPlan(config.latent);
  const thoughts = latent
    ? `M = ${rollout.count} latents, ${rollout.jacobi ? `Jacobi, T = ${rollout.iterations} iterations` : 'autoregressive'}${config.latent.projection ? ', projection' : ''}`
    : `no latents (${config.method === 'full-cot' ? 'writes its chain of thought' : 'answers directly'})`;
  const b = config.backbone;
  const weightsFrom = b.modelDir === null ? 'random init' : `from ${b.modelDir}`;
  const training = b.lora.enabled ? `LoRA r ${b.lora.rank}, alpha ${b.lora.alpha}` : 'all weights train';
  const data =
    config.data.train === null || config.data.format === 'synthetic'
      ? `the built-in synthetic task (${config.data.trace} traces)`
      : `${config.data.train} (format ${config.data.format}, ${config.data.trace} traces)`;
  const heldOut =
    config.data.test ??
    (config.data.train === null || config.data.format === 'synthetic'
      ? 'the synthetic test split'
      : 'none (no evaluation)');
  return [
    `method ${config.method}: losses ${weights}; ${scorer}; ${thoughts}`,
    `backbone ${b.preset}${b.family ? ` (${b.family})` : ''}, ${weightsFrom}, ${training}; backend ${backend}; presets ${resolved.presets.join(', ') || '(none)'}`,
    `config file: ${resolved.file ?? 'none found (built-in defaults and presets)'}`,
    `data: ${data}; held-out: ${heldOut}${heldOut.startsWith('none') ? '' : config.eval.limit ? ` (at most ${config.eval.limit} questions, ${config.eval.mode} mode)` : ` (${config.eval.mode} mode)`}`,
  ];
}
