import { Explorer, Finding, Kernel, Mutex, Render } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/**
 * t1 waits for t2 to set a plain variable: no kernel primitive, so no scheduling point in the loop.
 * `poll` is the Effect work of one round. (`yield* Effect.void` would not do: Effect's generator
 * runner consumes already-completed effects in a plain JS loop, so that loop never returns to
 * Effect's run loop, like `while (true) {}`; see the README's limits.)
 */
const plainFlag = (poll: Effect.Effect<unknown>): Explorer.Scenario => ({
  name: "plain-flag",
  description: "t1 spins on a plain JS variable that t2 would set",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const m = yield* Mutex.make("m")
    let flag = false
    yield* kernel.spawn(
      "t1",
      kernel.call(
        "demo",
        "wait_for_flag",
        Effect.gen(function* () {
          yield* m.lock
          yield* m.unlock
          while (!flag) yield* poll
        })
      )
    )
    yield* kernel.spawn(
      "t2",
      Effect.gen(function* () {
        yield* m.lock
        flag = true
        yield* m.unlock
      })
    )
  })
})

/** `Effect.forever` of pure work: Effect yields to its scheduler every round, never to the kernel. */
const forever: Explorer.Scenario = {
  name: "forever",
  description: "t1 runs Effect.forever(Effect.void)",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    yield* kernel.spawn("t1", Effect.forever(Effect.void))
  })
}

const runaway = (report: Explorer.Report) => {
  const cx = report.counterexamples.find((c) => c.kind === "runaway")
  assert.isDefined(cx, `no runaway finding in ${report.counterexamples.map((c) => c.kind).join(", ")}`)
  return cx!
}

describe("a task that never reaches a scheduling point", () => {
  it.effect("spinning on a plain variable ends the run with a runaway finding, trace and replay", () =>
    Effect.sync(() => {
      const scenario = plainFlag(Effect.yieldNow)
      const o = Explorer.options({ strategy: "dfs", schedules: 20, maxOpsBetweenPoints: 10_000 })
      const cx = runaway(Effect.runSync(Explorer.explore(scenario, o)))
      const p = cx.finding.problem
      assert.strictEqual(p._tag, "Runaway")
      if (p._tag !== "Runaway") return
      assert.strictEqual(p.task, "t1")
      assert.strictEqual(p.func, "wait_for_flag")
      assert.isAbove(p.ops, 10_000)
      assert.match(cx.finding.summary, /^task t1 ran \d+ Effect operations without a scheduling point in wait_for_flag$/)
      assert.isAbove(cx.trace.length, 0)
      const again = Effect.runSync(Explorer.replay(scenario, cx.schedule, { maxOpsBetweenPoints: 10_000 }))
      assert.strictEqual(again.outcome._tag, "Found")
      if (again.outcome._tag !== "Found") return
      assert.deepStrictEqual(again.outcome.finding, cx.finding)
      assert.deepStrictEqual(again.trace, cx.trace)
      // Every renderer says what happened.
      assert.match(Render.Text.render(cx), /RUNAWAY .*task t1/)
      assert.match(Render.Mermaid.render(cx), /t1 ran \d+ Effect operations without a scheduling point/)
      assert.match(Render.Html.render(cx), /data-testid="runaway-explanation"/)
      assert.match(Render.ChromeTrace.render(cx), /runaway/)
    })
  )

  it.effect("only the schedules that loop are runaways, whatever Effect work a round does", () =>
    Effect.sync(() => {
      const report = Effect.runSync(
        Explorer.explore(
          plainFlag(Effect.sync(() => 0)),
          Explorer.options({ strategy: "dfs", schedules: 100, maxOpsBetweenPoints: 10_000 })
        )
      )
      assert.isAbove(report.runs, 1)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.kind),
        ["runaway"]
      )
      assert.strictEqual(report.stopped, "exhausted")
    })
  )

  it.effect("Effect.forever(Effect.void) ends under the default bound", () =>
    Effect.sync(() => {
      const report = Effect.runSync(Explorer.explore(forever, Explorer.options({ schedules: 3 })))
      const cx = runaway(report)
      assert.match(cx.finding.summary, /^task t1 ran 100001 Effect operations without a scheduling point in its body$/)
      assert.strictEqual(Finding.kindOf(cx.finding.problem), "runaway")
      assert.strictEqual(report.runs, 3)
    })
  )

  it.effect("the bound is an option with validation", () =>
    Effect.sync(() => {
      assert.throws(() => Explorer.options({ maxOpsBetweenPoints: 0 }), /invalid explorer option "maxOpsBetweenPoints"/)
      assert.strictEqual(Explorer.defaultOptions.maxOpsBetweenPoints, 100_000)
    })
  )
})
