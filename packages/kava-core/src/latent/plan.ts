import type { KavaConfig } from '../config/schema.js';

/** What a config's `latent` settings mean for the rollout, derived in one place. */
export interface LatentPlan {
  /** M latent tokens. */
  count: number;
  jacobi: boolean;
  /** Jacobi iterations T over all M latents at once (0 in autoregressive mode). */
  iterations: number;
  /** Latents the final pass runs with the answer segment: all M (Jacobi), or the last one. */
  finalLatents: number;
  /** Latent positions the student's passes before the final one process in all: M·T (Jacobi), or M. */
  rolloutPositions: number;
}

/** The rollout `latent` describes (mode, M and T read once, here). */
export function latentPlan(latent: KavaConfig['latent']): LatentPlan {
  const jacobi = latent.mode === 'jacobi';
  return {
    count: latent.count,
    jacobi,
    iterations: jacobi ? latent.iterations : 0,
    finalLatents: jacobi ? latent.count : 1,
    rolloutPositions: latent.count * (jacobi ? latent.iterations : 1),
  };
}
