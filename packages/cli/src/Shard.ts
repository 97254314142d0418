/**
 * The split of a matrix into work units, and of the units into shards for
 * several machines. Both are pure functions of the model and the options: a
 * unit is one cell (scenario × variant, in the model's order), and shard
 * `i/n` takes the units whose position is `i-1` modulo `n` — consecutive
 * cells of one scenario (often of similar cost) land on different shards.
 * Which core or machine computes a unit never changes what it computes.
 *
 * @since 0.1.0
 */
import type { Model } from "@drvmodel/core"
import { InputError } from "./InputError.ts"

/**
 * Shard `index` (1-based) of `count`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Shard {
  readonly index: number
  readonly count: number
}

/**
 * One cell of the matrix at its position in the model's order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Unit {
  readonly position: number
  readonly scenario: string
  readonly variant: string
}

/**
 * Parses `i/n` (1 ≤ i ≤ n ≤ 10,000).
 *
 * @example
 * ```ts
 * import { Shard } from "@drvmodel/cli"
 * Shard.parse("2/3") // => { index: 2, count: 3 }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const parse = (text: string): Shard => {
  const m = /^(\d{1,5})\/(\d{1,5})$/.exec(text.trim())
  const index = m ? Number(m[1]) : Number.NaN
  const count = m ? Number(m[2]) : Number.NaN
  if (!m || index < 1 || count < 1 || index > count || count > 10_000) {
    throw new InputError({
      message: `--shard must be i/n with 1 <= i <= n <= 10000 (e.g. --shard 1/3), got "${text}"`
    })
  }
  return { index, count }
}

/**
 * Text form, `i/n`.
 *
 * @category rendering
 * @since 0.1.0
 */
export const format = (s: Shard): string => `${s.index}/${s.count}`

/**
 * Every cell of a model, scenarios outermost (the order of matrix.json).
 *
 * @example
 * ```ts
 * import { Models, Shard } from "@drvmodel/cli"
 * Shard.units(Models.get("classic")).length // => 14
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const units = (model: Model): Array<Unit> => {
  const out: Array<Unit> = []
  for (const s of model.scenarios) for (const v of model.variants) out.push({ position: out.length, scenario: s.name, variant: v.name })
  return out
}

/**
 * The units of one shard (all of them without a shard).
 *
 * @example
 * ```ts
 * import { Models, Shard } from "@drvmodel/cli"
 * Shard.select(Shard.units(Models.get("classic")), { index: 1, count: 3 }).map((u) => u.position) // => [0, 3, 6, 9, 12]
 * ```
 * @category getters
 * @since 0.1.0
 */
export const select = (all: ReadonlyArray<Unit>, shard: Shard | undefined): Array<Unit> =>
  shard === undefined ? [...all] : all.filter((u) => u.position % shard.count === shard.index - 1)
