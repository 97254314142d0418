/**
 * Lost update: two threads increment a shared counter with a plain
 * read-modify-write (atomic_read, then atomic_set): if both read before
 * either writes, one increment is lost.
 *
 *   thread-1: v = atomic_read(&c); atomic_set(&c, v + 1)
 *   thread-2: v = atomic_read(&c); atomic_set(&c, v + 1)
 *
 * Fixed: atomic_inc, a single atomic read-modify-write.
 *
 * Run: npx pnpm@12.21.0 exec node examples/classic/lost-update.ts
 */

import { Atomic, Kernel, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"
import { type Pattern, printVerdicts } from "./pattern.ts"

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

/** The lost update. */
export const lostUpdate = scenario(false)
/** Lost update fixed with atomic_inc. */
export const lostUpdateFixed = scenario(true)

/**
 * The lost-update pattern with its fix.
 *
 * @example
 * ```ts
 * import { lostUpdatePattern } from "./lost-update.ts"
 * lostUpdatePattern.invariants[0]?.name // => "no-lost-update"
 * ```
 */
export const lostUpdatePattern: Pattern = {
  name: "lost-update",
  description: lostUpdate.description,
  buggy: lostUpdate,
  fixed: lostUpdateFixed,
  fix: "atomic_inc: one atomic read-modify-write",
  defaults: { strategy: "dfs", preemptions: 2, schedules: 2000 },
  invariants: [{ name: "no-lost-update", description: "once both threads finish, the counter is 2" }]
}

if (import.meta.main) process.exitCode = printVerdicts([lostUpdatePattern]) ? 0 : 1
