/**
 * A small seeded random number generator (mulberry32). Its state is a Weyl sequence (it only
 * ever advances by a constant), so the n-th draw is a function of the seed and n alone:
 * `Rng.seedAt` computes it without the draws before it, which lets a resumed run draw exactly
 * what an uninterrupted one does at the same step.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + WEYL) >>> 0;
    return output(this.s);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A 31-bit seed for tfjs ops (dropout, random scorers). */
  seed(): number {
    return toSeed(this.next());
  }
  /** What `new Rng(seed)`'s `index`-th (0-based) call of `seed()` returns. */
  static seedAt(seed: number, index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** 32 - 1)
      throw new RangeError(`Rng.seedAt: index must be an integer in [0, 2^32 - 1), got ${index}`);
    return toSeed(output(((seed >>> 0) + Math.imul((index + 1) >>> 0, WEYL)) >>> 0));
  }
  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
  get state(): number {
    return this.s;
  }
  set state(value: number) {
    this.s = value >>> 0;
  }
}

const WEYL = 0x6d2b79f5;

/** mulberry32's output function of a state: uniform in [0, 1). */
function output(s: number): number {
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const toSeed = (u: number) => Math.floor(u * (2 ** 31 - 1));

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A 31-bit seed for a tfjs op, derived from a parent seed and fixed site indices (which pass,
 * which adapter): the same inputs give the same seed, different sites get unrelated streams, and
 * adding a site never shifts the seeds of the others (as drawing from a shared stream would).
 */
export function deriveSeed(seed: number, ...sites: number[]): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  for (const site of sites) h = mix32((h + Math.imul((site + 1) >>> 0, 0x9e3779b1)) >>> 0);
  return h & 0x7fffffff;
}
