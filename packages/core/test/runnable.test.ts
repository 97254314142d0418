/**
 * The engine keeps its runnable set incrementally (engine.ts `refresh`). A wait condition may read
 * plain model state that another task changes between two points, in no op and no footprint: the
 * waiting task must still be re-evaluated after every step, in both directions.
 */
import { Explorer, Kernel, RandomStrategy, type Scenario } from "@drvmodel/core"
import { model as mlx5 } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { classic } from "../../../examples/index.ts"

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

/**
 * `Op.enabledReads`: a blocked op whose `enabled` reads only the named keys is re-evaluated only
 * after a step that writes one of them. `checkReadiness` compares every refresh with a full scan,
 * so a broken promise, in a primitive or a model, fails the run instead of silently hiding a
 * schedule.
 */
describe("enabledReads", () => {
  const run = (scenario: Scenario, seed: number) =>
    Effect.runSync(
      Effect.map(RandomStrategy.make({ seed }), (strategy) =>
        Explorer.runOnce(scenario.program, strategy.next()!, {
          maxSteps: 20_000,
          livelockBound: 200,
          recordTrace: false,
          checkReadiness: true
        })
      )
    )

  it.effect("the check fails a run whose op reads state its enabledReads does not name", () =>
    Effect.sync(() => {
      const scenario: Scenario = {
        name: "broken-promise",
        description: "",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const gate = { open: false }
          yield* kernel.spawn(
            "waiter",
            kernel.point({ name: "pass", label: "pass(gate)", enabled: () => gate.open, enabledReads: ["gate"], apply: () => undefined })
          )
          // Opens the gate in a step whose footprint does not write "gate".
          yield* kernel.spawn(
            "opener",
            kernel.point({
              name: "open",
              label: "open",
              footprint: [{ key: "other", mode: "write" }],
              apply: () => void (gate.open = true)
            })
          )
        })
      }
      // Seeds in which the waiter parks before the gate opens (in the others it is evaluated afresh).
      const caught: Array<string> = []
      for (let seed = 1; seed <= 20; seed++) {
        try {
          run(scenario, seed)
        } catch (e) {
          caught.push(String(e))
        }
      }
      assert.isAbove(caught.length, 0)
      for (const e of caught) assert.match(e, /stale readiness of waiter/)
    })
  )

  it.effect("every classic example and every mlx5 scenario in every variant keeps the cached runnable set exact", () =>
    Effect.sync(() => {
      const cells: Array<readonly [string, Scenario]> = []
      for (const s of classic.scenarios)
        for (const v of classic.variants) cells.push([`${s.name} × ${v.name}`, classic.scenario(s.name, v.name)])
      for (const s of mlx5.scenarios) for (const v of mlx5.variants) cells.push([`${s.name} × ${v.name}`, mlx5.scenario(s.name, v.name)])
      let steps = 0
      for (const [name, scenario] of cells) {
        for (let seed = 1; seed <= 3; seed++) {
          const r = run(scenario, seed)
          assert.isAbove(r.steps, 0, name)
          steps += r.steps
        }
      }
      assert.isAbove(steps, 0)
    })
  )
})
