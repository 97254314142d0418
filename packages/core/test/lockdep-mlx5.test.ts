import { LockOrder } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const SCENARIO = "teardown-with-pending-work"
const DEVLINK = "&devlink->lock"
const isDevlinkWqCycle = (c: LockOrder.LockOrderCycle) =>
  c.kind === "circular" && c.classes.length === 2 && c.classes.includes(DEVLINK) && c.classes.some((k) => k.startsWith("(wq_completion)"))

describe("lock-order analysis on the mlx5 model", () => {
  it.effect(`baseline ${SCENARIO}: the non-preemptive runs (most finish) report devlink <-> esw wq; targeted runs confirm it`, () =>
    Effect.sync(() => {
      const scenario = model.scenario(SCENARIO, "baseline")
      // Since the firmware event is an interrupt of its own, the first non-preemptive run lets remove
      // finish before the interrupt queues any work, so one run is no longer enough: the runs without
      // preemption (bounded DFS, bound 0) place the interrupt everywhere; most of them finish.
      const r = Effect.runSync(
        LockOrder.analyze(scenario, { variant: "baseline", explore: { strategy: "dfs", preemptions: 0, schedules: 100 } })
      )
      assert.isAbove(r.outcomes.finished ?? 0, r.outcomes.deadlock ?? 0)
      const cycle = r.cycles.find(isDevlinkWqCycle)
      assert.isDefined(cycle, LockOrder.render(r))
      const toWq = cycle!.edges.find((e) => e.from === DEVLINK)!
      const toDevlink = cycle!.edges.find((e) => e.to === DEVLINK)!
      // The teardown waits for the queue (drain) holding devlink; the worker takes devlink inside an item.
      assert.strictEqual(toWq.via, "touch")
      assert.match(toWq.op, /^(destroy_workqueue|flush_workqueue|flush_work|cancel_work_sync)/)
      assert.strictEqual(toDevlink.via, "acquire")
      assert.match(toDevlink.task, /worker/)
      assert.isTrue(cycle!.confirmed, LockOrder.render(r))
      assert.strictEqual(cycle!.counterexample!.kind, "deadlock")
    })
  )
})
