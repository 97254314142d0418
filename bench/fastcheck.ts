/**
 * The benchmark models written for fast-check's scheduler (`fc.scheduler`):
 * promise-based programs equivalent to examples/classic/abba.ts and
 * lost-update.ts. Every operation that is a scheduling point in drvmodel
 * (task start, mutex_lock, mutex_unlock, atomic_read, atomic_set) goes
 * through `s.schedule`, and its effect happens when the scheduler releases it.
 *
 * @since 0.1.0
 */
import fc from "fast-check"

/** One modelled execution under a fast-check scheduler; resolves to true when the bug showed. */
export type FcProgram = (s: fc.Scheduler) => Promise<boolean>

/** A scheduling point: resolves when the scheduler releases it. */
const point = (s: fc.Scheduler, label: string): Promise<void> => s.schedule(Promise.resolve(), label)

/**
 * Lost update: two threads `v = counter` then `counter = v + 1`, each access
 * a scheduling point. Bug: the counter ends at 1.
 *
 * @example
 * ```ts
 * import fc from "fast-check"
 * import { lostUpdate } from "./fastcheck.ts"
 * fc.check(fc.asyncProperty(fc.scheduler(), async (s) => !(await lostUpdate(s))))
 * ```
 */
export const lostUpdate: FcProgram = async (s) => {
  let counter = 0
  const thread = async (name: string) => {
    await point(s, `${name} start`)
    await point(s, `${name} atomic_read(counter)`)
    const v = counter
    await point(s, `${name} atomic_set(counter)`)
    counter = v + 1
  }
  void thread("thread-1")
  void thread("thread-2")
  await s.waitIdle()
  return counter !== 2
}

/** A sleeping lock: a locker is scheduled only while the lock looks free, and retries if it lost the race. */
class FcMutex {
  readonly id: string
  owner: string | undefined
  private waiters: Array<() => void> = []
  constructor(id: string) {
    this.id = id
  }
  async lock(s: fc.Scheduler, who: string): Promise<void> {
    while (true) {
      while (this.owner !== undefined) await new Promise<void>((wake) => this.waiters.push(wake))
      await point(s, `${who} mutex_lock(${this.id})`)
      if (this.owner === undefined) {
        this.owner = who
        return
      }
    }
  }
  async unlock(s: fc.Scheduler, who: string): Promise<void> {
    await point(s, `${who} mutex_unlock(${this.id})`)
    this.owner = undefined
    const woken = this.waiters
    this.waiters = []
    for (const wake of woken) wake()
  }
}

/**
 * ABBA: thread-1 locks A then B, thread-2 B then A. The deadlock is detected
 * as "the scheduler is idle and a thread has not finished": both are asleep
 * on a lock, with nothing scheduled that could wake them.
 *
 * @example
 * ```ts
 * import fc from "fast-check"
 * import { abba } from "./fastcheck.ts"
 * fc.check(fc.asyncProperty(fc.scheduler(), async (s) => !(await abba(s))))
 * ```
 */
export const abba: FcProgram = async (s) => {
  const a = new FcMutex("A")
  const b = new FcMutex("B")
  let finished = 0
  const thread = async (name: string, first: FcMutex, second: FcMutex) => {
    await point(s, `${name} start`)
    await first.lock(s, name)
    await second.lock(s, name)
    await second.unlock(s, name)
    await first.unlock(s, name)
    finished++
  }
  void thread("thread-1", a, b)
  void thread("thread-2", b, a)
  await s.waitIdle()
  return finished !== 2
}

/**
 * Runs-to-first-failure for one seed: `fc.check` with `endOnFailure` (no
 * shrinking) reports the number of runs up to and including the failing one.
 * Undefined if no run of `cap` failed.
 *
 * @example
 * ```ts
 * import { abba, runsToFailure } from "./fastcheck.ts"
 * const runs = await runsToFailure(abba, 1, 1000)
 * ```
 */
export const runsToFailure = async (program: FcProgram, seed: number, cap: number): Promise<number | undefined> => {
  const details = await fc.check(
    fc.asyncProperty(fc.scheduler(), async (s) => !(await program(s))),
    { seed, numRuns: cap, endOnFailure: true }
  )
  return details.failed ? details.numRuns : undefined
}

/**
 * Executes `runs` schedules through `fc.check` (the property records the bug
 * instead of failing, so every run executes) and returns how many showed it.
 *
 * @example
 * ```ts
 * import { executeRuns, lostUpdate } from "./fastcheck.ts"
 * const buggy = await executeRuns(lostUpdate, 0, 100)
 * ```
 */
export const executeRuns = async (program: FcProgram, seed: number, runs: number): Promise<number> => {
  let buggy = 0
  await fc.check(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      if (await program(s)) buggy++
      return true
    }),
    { seed, numRuns: runs }
  )
  return buggy
}
