/**
 * Seeded uniform random scheduling: at each point every runnable task is
 * equally likely. One random stream per exploration, so a seed determines
 * every run (a single run is replayed from its recorded schedule).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Prng from "../Prng.ts"
import type { Strategy } from "../Strategy.ts"

/**
 * @example
 * ```ts
 * import { RandomStrategy } from "@drvmodel/core"
 * const strategy = RandomStrategy.make({ seed: 42 }) // Effect<Strategy>
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly seed: number }): Effect.Effect<Strategy> =>
  Effect.map(
    Prng.make(options.seed),
    (rng): Strategy => ({
      name: "random",
      next: () => {
        return {
          pick: (point) => rng.int(point.candidates.length),
          choose: (_label, count) => rng.int(count)
        }
      },
      coverage: () => ({ _tag: "Sampled" })
    })
  )
