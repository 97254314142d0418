/**
 * Lost update: two threads increment a shared counter with a plain
 * read-modify-write (atomic_read, then atomic_set): one increment can be lost.
 *
 * Fixed: atomic_inc, a single atomic read-modify-write.
 *
 * Run: node examples/classic/lost-update.ts
 */

import { Atomic, Kernel, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"

const scenario = (fixed: boolean): Scenario => ({
  name: fixed ? "lost-update-fixed" : "lost-update",
  description: fixed ? "two threads atomic_inc a counter" : "two threads read, then write back the counter plus one",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const counter = yield* Atomic.make("counter", 0)
    const increment = fixed
      ? Effect.asVoid(Atomic.inc(counter))
      : Effect.gen(function* () {
          const v = yield* counter.read
          yield* counter.set(v + 1)
        })
    const a = yield* kernel.spawn("thread-1", increment)
    const b = yield* kernel.spawn("thread-2", increment)
    kernel.invariant({
      name: "no-lost-update",
      description: "once both threads finish, the counter is 2",
      when: "eventual",
      check: () => !(a.isDone() && b.isDone()) || counter.peek() === 2 || `counter is ${counter.peek()} after two increments`
    })
  })
})

export const lostUpdate = scenario(false)
export const lostUpdateFixed = scenario(true)
