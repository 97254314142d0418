/**
 * ABBA deadlock: two threads take the same two mutexes in opposite orders.
 *
 *   thread-1: lock(A); lock(B)        thread-2: lock(B); lock(A)
 *
 * If thread-1 takes A and thread-2 takes B before either takes its second
 * lock, each waits for the lock the other holds: a wait-for cycle of depth 2
 * (one preemption between the two `mutex_lock` calls of a thread).
 *
 * Fixed: both take A before B (one global lock order).
 *
 * Run: npx pnpm@12.21.0 exec node examples/classic/abba.ts
 */

import { Kernel, Mutex, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"
import { type Pattern, printVerdicts } from "./pattern.ts"

const scenario = (fixed: boolean): Scenario => ({
  name: fixed ? "abba-fixed" : "abba",
  description: fixed ? "two threads take A then B" : "two threads take A and B in opposite orders",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const a = yield* Mutex.make("A", { lockClass: "&a->lock" })
    const b = yield* Mutex.make("B", { lockClass: "&b->lock" })
    const both = (first: Mutex.Mutex, second: Mutex.Mutex) =>
      Effect.gen(function* () {
        yield* first.lock
        yield* second.lock
        yield* second.unlock
        yield* first.unlock
      })
    yield* kernel.spawn("thread-1", both(a, b))
    yield* kernel.spawn("thread-2", fixed ? both(a, b) : both(b, a))
  })
})

/** The ABBA deadlock. */
export const abba = scenario(false)
/** ABBA fixed by a global lock order. */
export const abbaFixed = scenario(true)

/**
 * The ABBA pattern with its fix.
 *
 * @example
 * ```ts
 * import { abbaPattern } from "./abba.ts"
 * abbaPattern.fixed.name // => "abba-fixed"
 * ```
 */
export const abbaPattern: Pattern = {
  name: "abba",
  description: abba.description,
  buggy: abba,
  fixed: abbaFixed,
  fix: "both threads take A before B",
  defaults: { strategy: "dfs", preemptions: 2, schedules: 2000 },
  invariants: []
}

if (import.meta.main) process.exitCode = printVerdicts([abbaPattern]) ? 0 : 1
