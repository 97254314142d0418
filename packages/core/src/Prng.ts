/**
 * Seeded randomness for strategies: Effect's own seeded `Random` service
 * (ISAAC), obtained synchronously, so every random choice of a run derives
 * from the exploration seed and the run's index.
 *
 * @since 0.1.0
 */
import { Effect, Random } from "effect"

/**
 * A synchronous seeded random source.
 *
 * @category models
 * @since 0.1.0
 */
export interface Prng {
  /** A float in [0, 1). */
  readonly next: () => number
  /** An integer in [0, n). */
  readonly int: (n: number) => number
}

/**
 * A random source seeded by `seed` (any string or number).
 *
 * @example
 * ```ts
 * import { Prng } from "@drvmodel/core"
 * const rng = Prng.make("42:0")
 * const i = rng.int(3)
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (seed: string | number): Prng => {
  const random = Effect.runSync(Random.Random.useSync((r) => r).pipe(Random.withSeed(seed)))
  return {
    next: () => random.nextDoubleUnsafe(),
    int: (n) => Math.floor(random.nextDoubleUnsafe() * n)
  }
}
