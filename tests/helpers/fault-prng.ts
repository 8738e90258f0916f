// A small seeded pseudo-random generator (mulberry32) for fault injection and fuzzing: every run with
// the same seed makes the same cases, so a failure can be replayed exactly.

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

export function prng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}

/** The seed of a test run: RELIABILITY_SEED from the environment, else the given default. */
export function seedFromEnv(fallback: number): number {
  const value = Number(process.env.RELIABILITY_SEED);
  return Number.isInteger(value) ? value : fallback;
}
