import { LockOrder } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const SCENARIO = "teardown-with-pending-work"
const DEVLINK = "&devlink->lock"
const isDevlinkWqCycle = (c: LockOrder.LockOrderCycle) =>
  c.kind === "circular" && c.classes.length === 2 && c.classes.includes(DEVLINK) && c.classes.some((k) => k.startsWith("(wq_completion)"))

describe("lock-order analysis on the mlx5 model", () => {
  it.effect(`baseline ${SCENARIO}: one non-deadlocking run reports devlink <-> esw wq; targeted runs confirm it`, () =>
    Effect.sync(() => {
      const scenario = model.scenario(SCENARIO, "baseline")
      const r = Effect.runSync(LockOrder.analyzeOnce(scenario, { variant: "baseline" }))
      // The analysed run itself did not deadlock: the report comes from the lock graph.
      assert.notProperty(r.outcomes, "deadlock")
      assert.strictEqual(r.runs, 1)
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
