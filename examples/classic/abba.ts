/**
 * ABBA deadlock: two threads take the same two mutexes in opposite orders.
 *
 *   thread-1: lock(A); lock(B)        thread-2: lock(B); lock(A)
 *
 * Fixed: both take A before B (one global lock order).
 *
 * Run: node examples/classic/abba.ts
 */

import { Kernel, Mutex, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"

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

export const abba = scenario(false)
export const abbaFixed = scenario(true)
