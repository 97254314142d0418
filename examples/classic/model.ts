/**
 * The classic patterns as one model: each scenario has a `buggy` and a
 * `fixed` variant, so the findings matrix shows the fix.
 *
 * @since 0.1.0
 */
import { type Model, UnknownName } from "@drvmodel/core"
import { abbaPattern } from "./abba.ts"
import { destroyConcurrentPattern, destroyOrderedPattern } from "./destroy-under-lock.ts"
import { flushConcurrentPattern, flushOrderedPattern } from "./flush-under-lock.ts"
import { lostUpdatePattern } from "./lost-update.ts"
import type { Pattern } from "./pattern.ts"
import { trylockLivelockPattern } from "./trylock-livelock.ts"

/**
 * Every classic pattern, in the order the examples present them.
 *
 * @example
 * ```ts
 * import { patterns } from "./model.ts"
 * patterns.map((p) => p.name)
 * ```
 * @category models
 * @since 0.1.0
 */
export const patterns: ReadonlyArray<Pattern> = [
  abbaPattern,
  lostUpdatePattern,
  flushOrderedPattern,
  flushConcurrentPattern,
  destroyOrderedPattern,
  destroyConcurrentPattern,
  trylockLivelockPattern
]

/**
 * The classic patterns as a model with variants `buggy` and `fixed`.
 *
 * @example
 * ```ts
 * import { classic } from "@drvmodel/examples"
 * const s = classic.scenario("abba", "fixed")
 * ```
 * @category models
 * @since 0.1.0
 */
export const classic: Model = {
  name: "classic",
  description: "classic concurrency patterns with known answers, each buggy and fixed",
  // Primitives only, plus a plain counter touched under dev->lock: the footprints are complete.
  footprints: "complete",
  variants: [
    { name: "buggy", description: "the pattern with its bug" },
    { name: "fixed", description: "the pattern fixed" }
  ],
  scenarios: patterns.map((p) => ({
    name: p.name,
    description: p.description,
    defaults: p.defaults,
    invariants: p.invariants
  })),
  scenario: (name, variant) => {
    const entry = patterns.find((p) => p.name === name)
    if (entry === undefined)
      throw new UnknownName(
        "scenario",
        name,
        patterns.map((p) => p.name)
      )
    if (variant !== "buggy" && variant !== "fixed") throw new UnknownName("variant", variant, ["buggy", "fixed"])
    const s = variant === "buggy" ? entry.buggy : entry.fixed
    return { ...s, name, defaults: entry.defaults }
  }
}
