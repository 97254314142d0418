/**
 * Faults as explored choices (issue 13 item 4): `kzalloc(mlx5_host_work)` in
 * `mlx5_esw_add_work` (or the baseline notifier), a representor `load`
 * callback failing, the firmware commands of `esw_offloads_steering_init`.
 * Each test runs one schedule of a fault scenario that never preempts
 * (`LockOrder.nonPreemptive`) and takes the failure branch at one chosen
 * fault point, then checks what the C's unwind leaves behind.
 */
import { Explorer, Finding, LockOrder, RandomStrategy } from "@drvmodel/core"
import { model, variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const FAULT_SCENARIOS = ["mode-set-faults", "late-ib-load-faults", "vf-event-faults", "lag-shared-fdb-faults"]

/**
 * One non-preemptive run of `scenario` × `variant` in which the `nth` (1-based) fault choice whose
 * label contains `fail` takes the failure branch and every other choice takes branch 0.
 */
const runFailing = (scenario: string, variant: string, fail: string, nth = 1) => {
  const s = model.scenario(scenario, variant)
  const base = LockOrder.nonPreemptive()
  let seen = 0
  const r = Explorer.runOnce(
    s.program,
    {
      ...base,
      choose: (label) => {
        if (!label.startsWith("fault: ") || !label.includes(fail)) return 0
        seen++
        return seen === nth ? 1 : 0
      }
    },
    { maxSteps: 20_000, livelockBound: 400, captureState: true }
  )
  assert.isAtLeast(seen, nth, `${scenario} × ${variant}: no ${nth}th fault point matching "${fail}"`)
  const finding = r.outcome._tag === "Found" ? r.outcome.finding.problem : undefined
  const state = [...r.trace].reverse().find((e) => e.state !== undefined)?.state ?? {}
  const chosen = r.schedule.steps.flatMap((x) => (x._tag === "Choose" && x.index === 1 ? [x.label] : []))
  const calls = r.trace.filter((e) => e.kind === "call").map((e) => e.name)
  return {
    kind: finding === undefined ? r.outcome._tag : Finding.kindOf(finding),
    message: finding?._tag === "InvariantViolation" ? finding.message : "",
    state,
    chosen,
    calls
  }
}

describe("faults as explored choices", () => {
  it.effect("only the …-faults scenarios offer fault choices; there both branches are explored", () =>
    Effect.sync(() => {
      for (const info of model.scenarios) {
        const s = model.scenario(info.name, "merged")
        const labels = new Set<string>()
        const strategy = Effect.runSync(RandomStrategy.make({ seed: 1 }))
        for (let k = 0; k < 20; k++) {
          const r = Explorer.runOnce(s.program, strategy.next()!, { maxSteps: 20_000, livelockBound: 400, recordTrace: false })
          for (const x of r.schedule.steps) if (x._tag === "Choose" && x.label.startsWith("fault: ")) labels.add(`${x.index}`)
        }
        if (FAULT_SCENARIOS.includes(info.name)) assert.deepStrictEqual([...labels].sort(), ["0", "1"], info.name)
        else assert.strictEqual(labels.size, 0, `${info.name} offers a fault choice`)
      }
    })
  )

  it.effect("a fault shows in the trace as what it is: the choice and the [injected] call frame", () =>
    Effect.sync(() => {
      const r = runFailing("late-ib-load-faults", "merged", "kzalloc(mlx5_host_work")
      assert.deepStrictEqual(r.chosen, [
        "fault: kzalloc(mlx5_host_work, GFP_KERNEL) in mlx5_esw_add_work(mlx5_eswitch_reload_reps) fails (-ENOMEM)"
      ])
      assert.include(
        r.calls,
        "kzalloc(mlx5_host_work, GFP_KERNEL) in mlx5_esw_add_work(mlx5_eswitch_reload_reps) fails (-ENOMEM) [injected]"
      )
    })
  )

  it.effect(
    "mode set: a firmware failure in esw_offloads_steering_init leaves LEGACY with no FDB in every variant (esw_offloads_start only runs esw_mode_change(LEGACY))",
    () =>
      Effect.sync(() => {
        for (const v of model.variants) {
          const r = runFailing("mode-set-faults", v.name, "esw_offloads_steering_init")
          assert.strictEqual(r.kind, "invariant:sriov-has-fdb", `${v.name}: ${r.kind} ${r.message}`)
          assert.include(r.message, "SR-IOV has 2 VFs but the E-Switch has no FDB (mode LEGACY)", v.name)
        }
      })
  )

  it.effect("mode set: a failing representor load is unwound completely (VF ETH kvzalloc, uplink ib_alloc_device)", () =>
    Effect.sync(() => {
      for (const variant of ["baseline", "v1@6", "merged"]) {
        for (const fail of ["esw:vf2 mlx5e_vport_rep_load", "esw:uplink mlx5_ib_vport_rep_load"]) {
          const r = runFailing("mode-set-faults", variant, fail)
          // The whole transition fails: every vport disabled, every rep unloaded (then unregistered by
          // esw_mode_change(LEGACY)'s rescan), the E-Switch back in LEGACY without an FDB.
          assert.strictEqual(r.kind, "invariant:sriov-has-fdb", `${variant} ${fail}: ${r.kind} ${r.message}`)
          assert.include(r.message, "[mode=LEGACY fdb=0 vfs=2 gen=", `${variant} ${fail}`)
          assert.include(r.message, "reps[uplink-UU vf1-UU vf2-UU sf1-UU]", `${variant} ${fail}`)
          assert.include(r.chosen[0] ?? "", fail, `${variant} ${fail}`)
        }
      }
    })
  )

  it.effect(
    "late load: before reps V3 6/7 a failed uplink IB load unwinds the uplink ETH rep the mode set had loaded; V2 5/7 = V3 6/7 unwinds only what the call loaded",
    () =>
      Effect.sync(() => {
        for (const v of model.variants.map((x) => variantNamed(x.name)).filter((x) => x.loadWorkOnRegister)) {
          const r = runFailing("late-ib-load-faults", v.name, "esw:uplink mlx5_ib_vport_rep_load: ib_alloc_device")
          if (v.unwindNewlyLoaded) {
            assert.strictEqual(r.kind, "invariant:registration-completeness", `${v.name}: ${r.message}`)
            assert.include(r.message, "esw:uplink.IB is REGISTERED", v.name)
            assert.include(r.message, "its last ops->load failed", v.name)
            assert.include(r.message, "reps[uplink+LR vf1+LR vf2+LR", v.name)
          } else {
            assert.strictEqual(r.kind, "invariant:rep-dependencies", `${v.name}: ${r.message}`)
            assert.include(r.message, "esw:vf1.ETH LOADED but uplink.ETH REGISTERED", v.name)
          }
        }
      })
  )

  it.effect("-ENOMEM in mlx5_esw_add_work: the registration's load is never queued, and the report names it (gfp per variant)", () =>
    Effect.sync(() => {
      for (const [variant, gfp] of [
        ["v1@6", "GFP_ATOMIC"],
        ["v2", "GFP_ATOMIC"],
        ["v3", "GFP_KERNEL"],
        ["merged", "GFP_KERNEL"]
      ] as const) {
        const r = runFailing("late-ib-load-faults", variant, "kzalloc(mlx5_host_work")
        assert.strictEqual(r.kind, "invariant:registration-completeness", variant)
        assert.include(
          r.message,
          `cause: the load was never queued — mlx5_eswitch_register_vport_reps(REP_IB) in task modprobe: mlx5_esw_add_work's kzalloc(mlx5_host_work, ${gfp}) failed (-ENOMEM)`,
          variant
        )
      }
    })
  )

  it.effect("-ENOMEM in the EQ notifier's host work: the host VF-count change is lost in every variant", () =>
    Effect.sync(() => {
      for (const v of model.variants.map((x) => variantNamed(x.name))) {
        const r = runFailing("vf-event-faults", v.name, "kzalloc(mlx5_host_work")
        assert.strictEqual(r.kind, "invariant:host-vfs-followed", `${v.name}: ${r.kind}`)
        assert.include(r.message, "the host has 2 VFs, the E-Switch 0", v.name)
        assert.include(r.chosen[0] ?? "", v.wqDispatch ? "in mlx5_esw_add_work" : "in mlx5_esw_funcs_changed_handler", v.name)
      }
    })
  )

  it.effect(
    "LAG IB reload: before reps V3 6/7 a failed __esw_offloads_load_rep leaves the rep LOADED with no IB device; from V2 5/7 it is REGISTERED again",
    () =>
      Effect.sync(() => {
        for (const v of model.variants.map((x) => variantNamed(x.name))) {
          // pf1's uplink IB device is created again when the bond work deactivates the LAG
          // (mlx5_disable_lag → mlx5_lag_reload_ib_reps): the last reload, nothing retries it.
          const r = runFailing("lag-shared-fdb-faults", v.name, "pf1.esw:uplink mlx5_ib_vport_rep_load: ib_alloc_device")
          if (v.unwindNewlyLoaded) assert.strictEqual(r.kind, "Finished", `${v.name}: ${r.kind} ${r.message}`)
          else {
            assert.strictEqual(r.kind, "invariant:failed-load-unwound", `${v.name}: ${r.kind}`)
            assert.include(r.message, "pf1.esw:uplink.IB is LOADED although its last ops->load failed", v.name)
          }
        }
      })
  )
})
