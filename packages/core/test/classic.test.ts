import { Explorer } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { abba, abbaFixed } from "../../../examples/classic/abba.ts"
import { lostUpdate, lostUpdateFixed } from "../../../examples/classic/lost-update.ts"

describe("classic patterns", () => {
  it.effect("ABBA: every strategy finds the cycle; DFS exhausts the fixed version clean", () =>
    Effect.sync(() => {
      for (const strategy of ["random", "pct", "dfs"] as const) {
        const report = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy, schedules: 300 })))
        assert.strictEqual(report.counterexamples.length, 1, strategy)
        const problem = report.counterexamples[0]!.finding.problem
        assert.strictEqual(problem._tag, "Deadlock")
        if (problem._tag !== "Deadlock") return
        assert.deepStrictEqual(
          problem.cycle.map((e) => [e.task, e.resource, e.holder]),
          [
            ["thread-1", "B", "thread-2"],
            ["thread-2", "A", "thread-1"]
          ]
        )
        assert.deepStrictEqual(
          problem.blocked.map((b) => [b.task, b.holds]),
          [
            ["thread-1", ["A"]],
            ["thread-2", ["B"]]
          ]
        )
      }
      const fixed = Effect.runSync(Explorer.explore(abbaFixed, Explorer.options({ strategy: "dfs", preemptions: 3 })))
      assert.strictEqual(fixed.counterexamples.length, 0)
      assert.deepStrictEqual(fixed.coverage, { _tag: "Bounded", exhausted: true, preemptionBound: 3, truncatedRuns: 0 })
    })
  )

  it.effect("lost update: read-then-set loses an increment; atomic_inc does not", () =>
    Effect.sync(() => {
      const report = Effect.runSync(Explorer.explore(lostUpdate, Explorer.options({ strategy: "dfs" })))
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.kind),
        ["invariant:no-lost-update"]
      )
      const fixed = Effect.runSync(Explorer.explore(lostUpdateFixed, Explorer.options({ strategy: "dfs" })))
      assert.strictEqual(fixed.counterexamples.length, 0)
      assert.strictEqual(fixed.stopped, "exhausted")
    })
  )
})
