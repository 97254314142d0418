/**
 * The engine keeps its runnable set incrementally (engine.ts `refresh`). A wait condition may read
 * plain model state that another task changes between two points, in no op and no footprint: the
 * waiting task must still be re-evaluated after every step, in both directions.
 */
import { Explorer, Kernel, type Scenario } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const exhaust = (scenario: Scenario) =>
  Effect.runSync(Explorer.explore(scenario, Explorer.options({ strategy: "dfs", preemptions: 100, schedules: 10_000 })))

describe("runnable set", () => {
  it.effect("a wait closed by plain state between another task's points is not offered", () =>
    Effect.sync(() => {
      const scenario: Scenario = {
        name: "closed-gate",
        description: "",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const gate = { open: true }
          yield* kernel.spawn(
            "waiter",
            Effect.gen(function* () {
              const passed = yield* kernel.point({ name: "pass", label: "pass(gate)", enabled: () => gate.open, apply: () => gate.open })
              if (!passed) yield* kernel.warn("passed a closed gate")
            })
          )
          yield* kernel.spawn(
            "closer",
            Effect.gen(function* () {
              yield* kernel.point({ name: "step", label: "step(1)", apply: () => undefined })
              gate.open = false
              yield* kernel.point({ name: "step", label: "step(2)", apply: () => undefined })
              gate.open = true
            })
          )
        })
      }
      const report = exhaust(scenario)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.finding.summary),
        []
      )
      assert.isTrue(report.coverage._tag === "Bounded" && report.coverage.exhausted)
    })
  )

  it.effect("a wait opened by plain state between another task's points is offered at once", () =>
    Effect.sync(() => {
      const scenario: Scenario = {
        name: "opened-gate",
        description: "",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const state = { open: false, openerDone: false }
          yield* kernel.spawn(
            "waiter",
            Effect.gen(function* () {
              yield* kernel.point({ name: "pass", label: "pass(gate)", enabled: () => state.open, apply: () => undefined })
              if (!state.openerDone) yield* kernel.warn("passed before the opener finished")
            }),
            // A daemon runs to its first point at once: it is parked, blocked, before the opener starts.
            { daemon: true }
          )
          yield* kernel.spawn(
            "opener",
            Effect.gen(function* () {
              yield* kernel.point({ name: "step", label: "step(1)", apply: () => undefined })
              state.open = true
              yield* kernel.point({ name: "step", label: "step(2)", apply: () => undefined })
              state.openerDone = true
            })
          )
        })
      }
      const report = exhaust(scenario)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.finding.summary),
        ["waiter: WARNING: passed before the opener finished"]
      )
    })
  )
})
