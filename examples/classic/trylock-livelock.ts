/**
 * Livelock: two trylock retry loops that take the same two mutexes in
 * opposite orders and back off symmetrically.
 *
 *   thread-1: for (;;) { mutex_lock(A); if (mutex_trylock(B)) break; mutex_unlock(A); cond_resched(); }
 *   thread-2: for (;;) { mutex_lock(B); if (mutex_trylock(A)) break; mutex_unlock(B); cond_resched(); }
 *
 * No thread ever blocks on the other, so there is no deadlock; but while one
 * thread holds its first lock, the other's trylock fails, and the schedule
 * can keep them failing forever. The engine reports a livelock ("no-progress")
 * when tasks only retry (failed trylocks, cond_resched) for `livelockBound`
 * steps. DFS finds it within one preemption; PCT and random find it as soon
 * as a run reaches the state where each thread holds its first lock.
 *
 * What the witness looks like: the symmetric lockstep. From the first step
 * without progress the engine schedules fairly (round robin) until progress
 * resumes, so a livelock is reported only if it persists under fair
 * scheduling; a starved lock holder does not count. Once each thread holds
 * its first lock (one preemption) the threads stay in step: trylock(B) fails |
 * trylock(A) fails | unlock(A) | unlock(B) | cond_resched | cond_resched |
 * lock(A) | lock(B) | ... for ever.
 *
 * Fixed: back-off that breaks the symmetry. thread-1 takes A then B with
 * blocking locks (the global order); thread-2, which needs B first, tries A
 * once and on failure releases B and takes both in the global order:
 *
 *   thread-2: mutex_lock(B); if (!mutex_trylock(A)) { mutex_unlock(B); mutex_lock(A); mutex_lock(B); }
 *
 * Run: npx pnpm@12.21.0 exec node examples/classic/trylock-livelock.ts
 */

import { Kernel, Mutex, type Scenario, Sched } from "@drvmodel/core"
import { Effect } from "effect"
import { type Pattern, printVerdicts } from "./pattern.ts"

/** Take `first`, then retry `second` with trylock, backing off completely on failure. */
const retryLoop = (first: Mutex.Mutex, second: Mutex.Mutex) =>
  Effect.gen(function* () {
    while (true) {
      yield* first.lock
      if (yield* second.trylock) return
      yield* first.unlock
      yield* Sched.condResched
    }
  })

/** Take `second` (out of the global order), try `first` once; on failure release and take both in order. */
const backOffInOrder = (first: Mutex.Mutex, second: Mutex.Mutex) =>
  Effect.gen(function* () {
    yield* second.lock
    if (yield* first.trylock) return
    yield* second.unlock
    yield* first.lock
    yield* second.lock
  })

const inOrder = (first: Mutex.Mutex, second: Mutex.Mutex) =>
  Effect.gen(function* () {
    yield* first.lock
    yield* second.lock
  })

const scenario = (fixed: boolean): Scenario => ({
  name: fixed ? "trylock-livelock-fixed" : "trylock-livelock",
  description: fixed
    ? "thread-2 backs off by releasing B and taking A then B with blocking locks"
    : "two trylock retry loops take A and B in opposite orders and back off symmetrically",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const a = yield* Mutex.make("A", { lockClass: "&a->lock" })
    const b = yield* Mutex.make("B", { lockClass: "&b->lock" })
    const thread = (name: string, take: Effect.Effect<void, never, Kernel>) =>
      kernel.spawn(
        name,
        kernel.call(
          "example",
          name === "thread-1" ? "take_a_then_b" : "take_b_then_a",
          Effect.gen(function* () {
            yield* take
            // Both locks held: the critical section.
            yield* b.unlock
            yield* a.unlock
          })
        )
      )
    yield* thread("thread-1", fixed ? inOrder(a, b) : retryLoop(a, b))
    yield* thread("thread-2", fixed ? backOffInOrder(a, b) : retryLoop(b, a))
  })
})

/** The symmetric trylock livelock. */
export const trylockLivelock = scenario(false)
/** Fixed by an asymmetric back-off into the global lock order. */
export const trylockLivelockFixed = scenario(true)

/**
 * The trylock livelock with its fix.
 *
 * @example
 * ```ts
 * import { trylockLivelockPattern } from "./trylock-livelock.ts"
 * trylockLivelockPattern.defaults.strategy // => "dfs"
 * ```
 */
export const trylockLivelockPattern: Pattern = {
  name: "trylock-livelock",
  description: trylockLivelock.description,
  buggy: trylockLivelock,
  fixed: trylockLivelockFixed,
  fix: "thread-2 releases B, then takes A and B with blocking locks in the global order",
  defaults: { strategy: "dfs", preemptions: 2, schedules: 2000 },
  invariants: []
}

if (import.meta.main) process.exitCode = printVerdicts([trylockLivelockPattern]) ? 0 : 1
