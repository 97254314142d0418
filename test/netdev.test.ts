/**
 * The netdev example's known answers: the buggy close deadlocks with the reset
 * worker (close holds rtnl and waits for the work, the work waits for rtnl);
 * the fixed driver is clean on every schedule of the bounded search; the
 * lock contracts of ndo_open / ndo_stop are in their types.
 */
import { Explorer, type Kernel, LiveKernel, LockContract } from "@drvmodel/core"
import { Netdev, netdev } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const explore = (variant: string) =>
  Effect.runSync(Explorer.explore(netdev.scenario("reset-vs-close", variant), Explorer.options({ strategy: "dfs", preemptions: 2 })))

describe("netdev example: close vs reset worker under rtnl", () => {
  it.effect("buggy: cancel_work_sync under rtnl deadlocks with the reset work", () =>
    Effect.sync(() => {
      const report = explore("buggy")
      assert.strictEqual(report.counterexamples.length, 1)
      const problem = report.counterexamples[0]?.finding.problem
      assert.strictEqual(problem?._tag, "Deadlock")
      if (problem?._tag !== "Deadlock") return
      const cycle = problem.cycle.map((e) => [e.task, e.resource, e.holder])
      assert.deepStrictEqual(cycle.map(([, r]) => r).sort(), ["eth0/mydrv_wq", "rtnl_mutex"])
      assert.includeMembers(
        cycle.map(([t]) => t),
        ["ip-link-down", "eth0/mydrv_wq-worker"]
      )
    })
  )

  it.effect("fixed: clean on every schedule (bounded DFS, 2 preemptions, exhausted)", () =>
    Effect.sync(() => {
      const report = explore("fixed")
      assert.strictEqual(report.counterexamples.length, 0)
      assert.strictEqual(report.stopped, "exhausted")
      assert.isAbove(report.runs, 1)
    })
  )

  it.effect("fixed, on the plain runtime: the device ends down and its workqueue destroyed", () =>
    Effect.gen(function* () {
      const r = yield* LiveKernel.run(netdev.scenario("reset-vs-close", "fixed").program)
      assert.deepStrictEqual(r.warnings, [])
      assert.strictEqual(r.snapshot["eth0->priv.up"], "false")
      assert.match(r.snapshot["eth0/mydrv_wq"] ?? "", /^destroyed/)
    })
  )

  it("dev_open / dev_close compile only under rtnl", () => {
    const typed = Effect.gen(function* () {
      const drv = yield* Netdev
      const priv = yield* drv.mydrv_probe("eth0")
      const ok: Effect.Effect<void, never, Kernel | Netdev> = LockContract.withLock(drv.rtnl, drv.dev_close(priv))
      // @ts-expect-error dev_open needs Held<"rtnl_mutex">
      const bad: Effect.Effect<void, never, Kernel | Netdev> = drv.dev_open(priv)
      return [ok, bad]
    })
    assert.strictEqual(typeof typed, "object")
  })
})
