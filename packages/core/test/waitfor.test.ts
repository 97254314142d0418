import { Completion, Explorer, Kernel, Mutex, RwSemaphore } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/**
 * rwsem `R` is held for read by t1 and by t2. t1 then sleeps on a completion nobody completes;
 * t2 waits for mutex `M`, held by t3, which waits in down_write(R). The cycle t2 → t3 → t2 runs
 * through R's second reader: a search that follows only the first holder (t1, a dead end) misses it.
 */
const secondReader: Explorer.Scenario = {
  name: "second-reader-cycle",
  description: "a deadlock cycle through the second of two readers of an rw-semaphore",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const r = yield* RwSemaphore.make("R")
    const m = yield* Mutex.make("M")
    const never = yield* Completion.make("never")
    const firstIn = yield* Completion.make("first-in")
    const bothIn = yield* Completion.make("both-in")
    yield* kernel.spawn(
      "t1",
      kernel.call(
        "demo",
        "t1",
        Effect.gen(function* () {
          yield* r.downRead
          yield* firstIn.complete
          yield* never.wait
        })
      )
    )
    yield* kernel.spawn(
      "t2",
      kernel.call(
        "demo",
        "t2",
        Effect.gen(function* () {
          yield* firstIn.wait
          yield* r.downRead
          yield* bothIn.complete
          yield* m.lock
        })
      )
    )
    yield* kernel.spawn(
      "t3",
      kernel.call(
        "demo",
        "t3",
        Effect.gen(function* () {
          yield* m.lock
          yield* bothIn.wait
          yield* r.downWrite
        })
      )
    )
  })
}

describe("wait-for cycle (issue 14, item 7)", () => {
  it.effect("follows every holder of a shared resource, not only the first", () =>
    Effect.gen(function* () {
      const report = yield* Explorer.explore(secondReader, Explorer.options({ strategy: "dfs", preemptions: 2 }))
      // The interesting deadlocks: t3 in down_write(R) while both readers hold it.
      const throughR = report.counterexamples.flatMap((c) => {
        const problem = c.finding.problem
        return problem._tag === "Deadlock" && problem.blocked.some((b) => b.task === "t3" && b.resource === "R") ? [problem] : []
      })
      assert.isAbove(throughR.length, 0, "the scenario deadlocks with t3 waiting for R")
      for (const problem of throughR) {
        const r = problem.blocked.find((b) => b.task === "t3")
        assert.deepStrictEqual(r?.holders, ["t1", "t2"], "R is held by both readers, t1 first")
        assert.deepStrictEqual(
          problem.cycle.map((e) => [e.task, e.resource, e.holder]),
          [
            ["t2", "M", "t3"],
            ["t3", "R", "t2"]
          ]
        )
      }
    })
  )
})
