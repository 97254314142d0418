/**
 * The benchmark programs as plain Effect code on the default runtime: the same
 * logic as the explored scenarios, with Effect's own `Ref` and `Semaphore`
 * instead of drvmodel's primitives, and no explorer. The baseline for "what
 * does exploring cost per execution".
 *
 * @since 0.1.0
 */
import { type Kernel, LiveKernel } from "@drvmodel/core"
import { Effect, Fiber, Ref, Semaphore } from "effect"

/**
 * Lost update: two fibers `Ref.get` then `Ref.set(v + 1)` on one counter.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { lostUpdate } from "./plain.ts"
 * await Effect.runPromise(lostUpdate)
 * ```
 */
export const lostUpdate: Effect.Effect<void> = Effect.gen(function* () {
  const counter = yield* Ref.make(0)
  const increment = Effect.gen(function* () {
    const v = yield* Ref.get(counter)
    yield* Ref.set(counter, v + 1)
  })
  const t1 = yield* Effect.forkChild(increment)
  const t2 = yield* Effect.forkChild(increment)
  yield* Fiber.join(t1)
  yield* Fiber.join(t2)
})

/**
 * ABBA with the fix (both fibers take A then B): the buggy version hangs the
 * default runtime (its two fibers interleave and deadlock), so the clean
 * version is what both sides run.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { abbaFixed } from "./plain.ts"
 * await Effect.runPromise(abbaFixed)
 * ```
 */
export const abbaFixed: Effect.Effect<void> = Effect.gen(function* () {
  const a = yield* Semaphore.make(1)
  const b = yield* Semaphore.make(1)
  const both = Effect.gen(function* () {
    yield* a.take(1)
    yield* b.take(1)
    yield* b.release(1)
    yield* a.release(1)
  })
  const t1 = yield* Effect.forkChild(both)
  const t2 = yield* Effect.forkChild(both)
  yield* Fiber.join(t1)
  yield* Fiber.join(t2)
})

/**
 * Runs `program` `n` times in sequence inside one `runPromise` and returns the
 * wall time in milliseconds.
 *
 * @example
 * ```ts
 * import { lostUpdate, timeRuns } from "./plain.ts"
 * const ms = await timeRuns(lostUpdate, 1000)
 * ```
 */
export const timeRuns = async (program: Effect.Effect<void>, n: number): Promise<number> => {
  const t0 = performance.now()
  await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* program
    })
  )
  return performance.now() - t0
}

/**
 * Runs a drvmodel scenario program `n` times in sequence under
 * `LiveKernel.run` (no explorer) inside one `runPromise` on the default
 * runtime: the wall time in milliseconds, the mean steps per execution, and
 * how many executions reported a WARN, an invariant violation or a defect.
 *
 * @example
 * ```ts
 * import { classic } from "@drvmodel/examples"
 * import { timeLive } from "./plain.ts"
 * const { ms } = await timeLive(classic.scenario("abba", "fixed").program, 1000)
 * ```
 */
export const timeLive = async (
  program: Effect.Effect<void, unknown, Kernel>,
  n: number
): Promise<{ readonly ms: number; readonly stepsPerRun: number; readonly withFinding: number }> => {
  let steps = 0
  let withFinding = 0
  const t0 = performance.now()
  await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) {
        const r = yield* LiveKernel.run(program)
        steps += r.steps
        if (r.warnings.length + r.invariantViolations.length + r.defects.length > 0 || r.hitStepLimit) withFinding++
      }
    })
  )
  return { ms: performance.now() - t0, stepsPerRun: steps / n, withFinding }
}
