import { Explorer } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Coverage, Exploration, Matrix, Models } from "../src/index.ts"

describe("batched exploration", () => {
  it.effect("gives the same results as one Explorer.explore call, for every strategy", () =>
    Effect.gen(function* () {
      for (const name of ["abba", "lost-update"]) {
        const scenario = classic.scenario(name, "buggy")
        for (const strategy of ["random", "pct", "dfs"] as const) {
          const o = Explorer.options({ strategy, schedules: 300, seed: 5 })
          const whole = Effect.runSync(Explorer.explore(scenario, o))
          const batched = yield* Exploration.explore(scenario, o)
          assert.strictEqual(batched.runs, whole.runs, `${name} ${strategy}`)
          assert.strictEqual(batched.steps, whole.steps, `${name} ${strategy}`)
          assert.strictEqual(batched.stopped, whole.stopped, `${name} ${strategy}`)
          assert.deepStrictEqual(batched.coverage, whole.coverage)
          assert.deepStrictEqual(
            batched.counterexamples.map((c) => [c.run, c.schedule]),
            whole.counterexamples.map((c) => [c.run, c.schedule])
          )
        }
      }
    })
  )

  it.effect("stops when asked, keeping what it found", () =>
    Effect.gen(function* () {
      let calls = 0
      const report = yield* Exploration.explore(
        classic.scenario("abba", "buggy"),
        Explorer.options({ strategy: "random", schedules: 100_000 }),
        {
          shouldStop: () => ++calls > 3
        }
      )
      assert.strictEqual(report.stopped, "interrupted")
      assert.isBelow(report.runs, 100_000)
    })
  )
})

describe("matrix cells", () => {
  it.effect("an analysis can add fields and finding kinds to a cell", () =>
    Effect.gen(function* () {
      const resolved = yield* Models.resolve("classic", "abba", "fixed")
      const o = yield* Models.optionsFor(resolved.info)
      let observed = 0
      const analysis: Matrix.CellAnalysis = {
        name: "lock-order",
        observers: () => [{ onOp: () => void observed++ }],
        analyze: (ctx) => ({ fields: { lockOrder: { runs: ctx.report.runs } }, kinds: ["lock-order:potential"] })
      }
      const plain = yield* Matrix.runCell(resolved, "classic", o)
      assert.strictEqual(plain.cell.verdict, "clean")
      const { cell } = yield* Matrix.runCell(resolved, "classic", o, { analyses: [analysis] })
      assert.isAbove(observed, 0)
      assert.strictEqual(cell.verdict, "finding")
      assert.deepStrictEqual(cell.kinds, ["lock-order:potential"])
      assert.deepStrictEqual(cell.lockOrder, { runs: cell.schedules })
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("clean cells say how clean: DFS exhaustion, the PCT bound", () =>
    Effect.sync(() => {
      const fixed = classic.scenario("abba", "fixed")
      const dfs = Effect.runSync(Explorer.explore(fixed, Explorer.options({ strategy: "dfs", preemptions: 2 })))
      assert.strictEqual(Coverage.describe(dfs).exhausted, true)
      const pct = Effect.runSync(Explorer.explore(fixed, Explorer.options({ strategy: "pct", schedules: 100, depth: 2 })))
      const c = Coverage.describe(pct)
      assert.strictEqual(c.kind, "pct")
      // 1/(n·k^(d−1)) with the tasks and steps the runs had; (1 − p)^runs bounds a miss.
      assert.closeTo(c.perRun!, 1 / (c.tasks! * c.steps!), 1e-12)
      assert.closeTo(c.missBound!, (1 - c.perRun!) ** 100, 1e-12)
    })
  )
})
