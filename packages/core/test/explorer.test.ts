import { Explorer, Finding, Kernel, Mutex } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { abba } from "../../../examples/classic/abba.ts"

describe("explorer options", () => {
  it.effect("a bad option is an error naming the field", () =>
    Effect.sync(() => {
      assert.throws(() => Explorer.options({ strategy: "bfs" }), /invalid explorer option "strategy"/)
      assert.throws(() => Explorer.options({ schedules: 0 }), /invalid explorer option "schedules"/)
      assert.throws(() => Explorer.options({ depth: 1.5 }), /invalid explorer option "depth"/)
      assert.throws(() => Explorer.options({ shedules: 3 } as never), /unknown explorer option "shedules"/)
      assert.strictEqual(Explorer.options({ strategy: "pct", depth: 3 }).depth, 3)
    })
  )
})

describe("counterexamples", () => {
  it.effect("round-trip through JSON and replay to the same finding", () =>
    Effect.sync(() => {
      const report = Explorer.explore(abba, Explorer.options({ strategy: "random", seed: 7, schedules: 200, stopOnFirst: true }))
      const original = report.counterexamples[0]!
      const json = JSON.stringify(Schema.encodeSync(Explorer.Counterexample)(original))
      const back = Schema.decodeUnknownSync(Explorer.Counterexample)(JSON.parse(json))
      assert.deepStrictEqual(back, original)
      const again = Explorer.replay(abba, back.schedule)
      assert.strictEqual(again.outcome._tag, "Found")
      if (again.outcome._tag !== "Found") return
      assert.strictEqual(Finding.signatureOf(again.outcome.finding.problem), Finding.signatureOf(original.finding.problem))
      assert.deepStrictEqual(again.trace, original.trace)
    })
  )

  it.effect("a schedule naming a task the model no longer has is a clear divergence", () =>
    Effect.sync(() => {
      const schedule = {
        steps: [
          { _tag: "Run" as const, task: "setup", op: "start" },
          { _tag: "Run" as const, task: "thread-9", op: "start" }
        ]
      }
      assert.throws(() => Explorer.replay(abba, schedule), /schedule step 1: task "thread-9" cannot run here; runnable: /)
      const renamed = { steps: [{ _tag: "Run" as const, task: "setup", op: "begin" }] }
      assert.throws(() => Explorer.replay(abba, renamed), /task "setup" is at "start", the schedule expects "begin"/)
    })
  )

  it.effect("the same seed gives the same counterexamples", () =>
    Effect.sync(() => {
      const run = (seed: number) =>
        Explorer.explore(abba, Explorer.options({ strategy: "pct", seed, schedules: 50 })).counterexamples.map((c) =>
          JSON.stringify(c.schedule)
        )
      assert.deepStrictEqual(run(3), run(3))
    })
  )
})

describe("determinism self-check", () => {
  it.effect("a model that carries state between runs is caught when its finding is replayed", () =>
    Effect.sync(() => {
      let runs = 0
      const leaky = {
        name: "leaky",
        description: "deadlocks on its first run only, because it counts runs in module state",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          if (runs++ === 0) yield* kernel.spawn("stuck", Effect.andThen(m.lock, m.lock))
        })
      }
      assert.throws(
        () => Explorer.explore(leaky, Explorer.options({ schedules: 3 })),
        /scenario leaky: replaying run 0 did not reproduce it/
      )
    })
  )
})
