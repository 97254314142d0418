/**
 * The E-Switch vport-change notifier (issue 13 item 5, notes §5.6): `esw->nb` registered by
 * `mlx5_eswitch_enable_locked` and unregistered first in `mlx5_eswitch_disable_locked`;
 * `eswitch_vport_event` queues the vport's own `vport_change_handler` work on the ordered E-Switch
 * queue (a second event while it is pending is coalesced); the work takes `esw->state_lock`, which
 * `mlx5_esw_vport_enable/disable` hold around the same handler body.
 */
import { Explorer, Finding, RandomStrategy, type Scenario, type Trace } from "@drvmodel/core"
import { model, variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { buildRun } from "../src/scenarios.ts"

const SCENARIO = "vport-change-vs-mode-set"

/** One run of the scenario per seed until `pick` accepts its trace; that trace. */
const traceWhere = (variant: string, pick: (trace: ReadonlyArray<Trace.TraceEvent>) => boolean) => {
  const s = model.scenario(SCENARIO, variant)
  for (let seed = 0; seed < 200; seed++) {
    const r = Explorer.runOnce(s.program, Effect.runSync(RandomStrategy.make({ seed })).next()!, { maxSteps: 20_000, livelockBound: 400 })
    if (pick(r.trace)) return r.trace
  }
  return assert.fail("no run of the first 200 seeds matched")
}

/** The calls task `task` made, in order, every occurrence. */
const callsOf = (trace: ReadonlyArray<Trace.TraceEvent>, task: string) =>
  trace.filter((e) => e.task === task && e.kind === "call").map((e) => e.name)

/** Whether `names` occur in `calls` in this order (each after the previous one). */
const inOrder = (calls: ReadonlyArray<string>, names: ReadonlyArray<string>) => {
  let at = 0
  for (const n of names) {
    const i = calls.indexOf(n, at)
    if (i < 0) return `${n} not after position ${at} in [${calls.slice(at).join(", ")}]`
    at = i + 1
  }
  return true
}

describe("vport-change notifier (esw->nb) and its per-vport work", () => {
  it.effect(
    "the scenario is clean on merged with its default budget (fails if state_lock is dropped from esw_vport_change_handler or mlx5_esw_vport_disable: data races on vport->enabled, enabled_events, uc_list)",
    () =>
      Effect.sync(() => {
        const s = model.scenario(SCENARIO, "merged")
        const r = Effect.runSync(Explorer.explore(s, Explorer.options(s.defaults ?? {}), { variant: "merged" }))
        assert.deepStrictEqual(
          r.counterexamples.map((c) => c.finding.summary),
          []
        )
        assert.strictEqual(r.runs, 400)
      })
  )

  it.effect("the worker adds vf1's FDB rule to the legacy FDB, and a mode set tears it down through the handler under state_lock", () =>
    Effect.sync(() => {
      const trace = traceWhere(
        "merged",
        (t) =>
          t.some((e) => e.task === "mode-set") &&
          t.some((e) => e.task === "esw_wq-worker" && e.kind === "call" && e.name === "esw_fdb_set_vport_rule")
      )
      assert.isTrue(
        inOrder(callsOf(trace, "esw_wq-worker"), [
          "esw_vport_change_handler",
          "esw_vport_change_handle_locked",
          "esw_add_uc_addr",
          "esw_fdb_set_vport_rule"
        ])
      )
      const devlink = callsOf(trace, "mode-set")
      assert.isTrue(
        inOrder(devlink, ["mlx5_esw_vport_disable", "esw_vport_change_handle_locked", "esw_del_uc_addr", "esw_destroy_legacy_table"])
      )
    })
  )

  it.effect(
    "mlx5_eswitch_disable_locked unregisters esw->nb first (before the functions notifier, the invalidation and the FDB teardown); enable_locked registers it before enabling the mode",
    () =>
      Effect.sync(() => {
        const trace = traceWhere("merged", (t) => t.some((e) => e.task === "mode-set"))
        const calls = callsOf(trace, "mode-set")
        const from = calls.indexOf("mlx5_eswitch_disable_locked")
        assert.isAtLeast(from, 0)
        assert.strictEqual(
          inOrder(calls.slice(from), [
            "mlx5_eswitch_disable_locked",
            "mlx5_eq_notifier_unregister",
            "mlx5_eswitch_event_handler_unregister",
            "mlx5_eswitch_invalidate_wq",
            "esw_legacy_disable",
            "esw_destroy_legacy_table",
            "mlx5_eswitch_enable_locked",
            "mlx5_eq_notifier_register",
            "esw_offloads_enable"
          ]),
          true
        )
        // Nothing of the teardown comes between disable_locked's entry and the unregister.
        const unreg = calls.indexOf("mlx5_eq_notifier_unregister", from)
        assert.deepStrictEqual(calls.slice(from + 1, unreg), [])
      })
  )

  it.effect("a second event while vf1's work is pending is coalesced (queue_work returns false); events = handler runs + coalesced", () =>
    Effect.sync(() => {
      const outcomes = new Set<string>()
      const program: Scenario["program"] = Effect.gen(function* () {
        const { w, m } = yield* buildRun(variantNamed("merged"), {
          devs: [{ name: "pf0", isEcpf: false }],
          lag: false,
          ibLoaded: false,
          vportEvents: true
        })
        const dev = w.devs[0]!
        yield* m.core.probeOne(dev, false)
        yield* m.core.sriovNumvfsStore(dev, 2)
        yield* dev.esw.workQueue.flush
        const vs = dev.esw.vportChange!.vports.vf1
        const before = vs.handled.peek()
        // Two NIC_VPORT_CHANGE events for vf1 (the notifier call, as the EQ walk makes it).
        yield* m.eswitch.eswitchVportEvent(dev.esw, "vf1")
        yield* m.eswitch.eswitchVportEvent(dev.esw, "vf1")
        yield* dev.esw.workQueue.flush
        const handled = vs.handled.peek() - before
        const coalesced = vs.coalesced.peek()
        outcomes.add(`handled=${handled} coalesced=${coalesced}`)
        if (handled + coalesced !== 2) yield* w.kernel.warn(`events lost: handled ${handled}, coalesced ${coalesced}`)
      })
      const report = Effect.runSync(
        Explorer.explore(
          { name: "coalesce", description: "coalesce", program },
          Explorer.options({ strategy: "dfs", preemptions: 1000, schedules: 5000 })
        )
      )
      assert.strictEqual(report.stopped, "exhausted")
      assert.deepStrictEqual(
        report.counterexamples.map((c) =>
          c.finding.problem._tag === "Defect" ? c.finding.problem.message : Finding.kindOf(c.finding.problem)
        ),
        []
      )
      // Both: the worker took the first item before the second event (two runs), or not (one run, one coalesced).
      assert.deepStrictEqual([...outcomes].sort(), ["handled=1 coalesced=1", "handled=2 coalesced=0"])
    })
  )
})
