/**
 * Seeded randomness for the chaos harness. Every decision is derived from the seed and a
 * description of what is being decided (not from a shared stream consumed in call order),
 * so the plan is the same on every run however the concurrent steps interleave.
 */
import { createHash } from 'node:crypto';

/** mulberry32: a small, fast, well-distributed 32-bit generator. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Prng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

/** A generator for one named decision: same seed + same description → same numbers. */
export function prngFor(seed: number, ...what: Array<string | number>): Prng {
  const digest = createHash('sha256')
    .update(JSON.stringify([seed, ...what]))
    .digest();
  return new Prng(digest.readUInt32LE(0));
}

/**
 * Counts occurrences of the same description, so the n-th attempt of the same call gets its
 * own (still deterministic) decision.
 */
export class Occurrences {
  private readonly seen = new Map<string, number>();
  next(key: string): number {
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    return n;
  }
}
