/**
 * Seeded randomness for strategies: Effect's own seeded `Random` service
 * (ISAAC), taken once from `Random.withSeed` in the caller's fiber and then
 * read synchronously by the engine's choosers, so every random choice of a
 * run derives from the exploration seed and the run's index.
 *
 * @since 0.1.0
 */
import { type Effect, Random } from "effect"

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
 * import { Effect } from "effect"
 * const program = Effect.gen(function*() {
 *   const rng = yield* Prng.make("42:0")
 *   return rng.int(3)
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (seed: string | number): Effect.Effect<Prng> =>
  Random.Random.useSync(
    (random): Prng => ({
      next: () => random.nextDoubleUnsafe(),
      int: (n) => Math.floor(random.nextDoubleUnsafe() * n)
    })
  ).pipe(Random.withSeed(seed))
