/**
 * The ETH uplink representor callbacks re-enter LAG (issue 13 item 2): `mlx5e_vport_uplink_rep_load`
 * / `_unload` change the uplink netdev's profile, whose enable/disable call `mlx5_lag_add_netdev` /
 * `mlx5_lag_remove_netdev` (`ldev->lock`) under whatever the representor path holds. With the
 * representor guard a lock (V1's atomic as lockdep would see it, `reps_lock` from reps V2 on) that is
 * the edge guard → `ldev->lock`; the LAG transitions that reload IB reps under `ldev->lock` give the
 * reverse edge unless reps V2 3/7 (= V3 4/7, "Lag, avoid LAG and representor lock cycles") drops
 * `ldev->lock` around them. One non-preemptive run of lag-shared-fdb records both edges.
 */
import { Explorer, LockOrder } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const SCENARIO = "lag-shared-fdb"
const LDEV = "&ldev->lock"

const cyclesOf = (variant: string) =>
  Effect.runSync(LockOrder.analyzeOnce(model.scenario(SCENARIO, variant), { variant, confirm: false })).cycles

const ldevCycle = (variant: string, guardClass: string) =>
  cyclesOf(variant).find(
    (c) => c.kind === "circular" && c.classes.length === 2 && c.classes.includes(LDEV) && c.classes.includes(guardClass)
  )

describe("representor callbacks into LAG netdev add/remove", () => {
  it("without reps V2 3/7 (merged minus lag-drops-ldev-lock): reps_lock -> ldev->lock (uplink callback) against ldev->lock -> reps_lock (bond work)", () => {
    const c = ldevCycle("merged+lag-drops-ldev-lock=false", "&esw->offloads.reps_lock")
    assert.isDefined(c)
    const toLdev = c!.edges.find((e) => e.to === LDEV)!
    const toReps = c!.edges.find((e) => e.from === LDEV)!
    // The guard-held side is the ETH uplink rep callback's LAG netdev add/remove.
    assert.match(toLdev.op, /ldev->lock/)
    assert.match(toLdev.func ?? "", /^mlx5_lag_(add|remove)_netdev$/)
    // The ldev-held side is the bond work's IB reload.
    assert.match(toReps.task, /bond/)
  })

  it("v1@5: the V1 guard (as a lock class) gives the same cycle with ldev->lock", () => {
    assert.isDefined(ldevCycle("v1@5", "reps_conf_state"))
  })

  it("F13, lag-shared-fdb-faults x v1@6 at its default budget: the V1 6/7 worker, unwinding a failed uplink IB load, blocks on ldev->lock in mlx5_lag_remove_netdev while the bond work spins on its guard", () => {
    const variant = "v1@6"
    const s = model.scenario("lag-shared-fdb-faults", variant)
    const r = Effect.runSync(Explorer.explore(s, Explorer.options(s.defaults ?? {}), { variant }))
    const hit = r.counterexamples.find((c) => {
      const text = JSON.stringify(c)
      return (
        c.kind === "livelock" && text.includes("mlx5_lag_remove_netdev") && text.includes("ldev->lock") && text.includes("reps_conf_state")
      )
    })
    assert.isDefined(hit, r.counterexamples.map((c) => c.kind).join(", "))
  })

  it("merged and v2 (reps V2 3/7 drops ldev->lock around rescans and reloads): no cycle at all", () => {
    assert.deepStrictEqual(cyclesOf("merged"), [])
    assert.deepStrictEqual(cyclesOf("v2"), [])
  })
})
