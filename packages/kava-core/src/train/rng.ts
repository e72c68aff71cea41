/**
 * A small seeded random number generator (mulberry32) whose whole state is one integer, so a
 * checkpoint can store it and a resumed run draws the same numbers as an uninterrupted one.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A 31-bit seed for tfjs ops (dropout, random scorers). */
  seed(): number {
    return this.int(2 ** 31 - 1);
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
