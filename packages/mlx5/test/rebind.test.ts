/**
 * The peer's `.eth-rep` driver unbound and bound again through sysfs while the other PF enters
 * and leaves switchdev (scenario devcom-pair-vs-eth-rebind; notes §1.2, §5.8; findings F18):
 * the PAIR / UNPAIR handlers read pf1's `rep_ops[ETH]` under the ESW_OFFLOADS devcom lock only,
 * while `mlx5e_rep_remove` / `mlx5e_rep_probe` write them under pf1's reps guard only.
 */
import * as fs from "node:fs"
import { Explorer, type Finding, RandomStrategy, Schedule } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"

const SCENARIO = "devcom-pair-vs-eth-rebind"

const explore = (variant: string, races = true) => {
  const s = model.scenario(SCENARIO, variant)
  const o = Explorer.options({ ...s.defaults, races })
  return Effect.runSync(Explorer.explore(s, o, { variant })).counterexamples.map((c) => c.finding)
}

/** The function that wrote in a data race on `cell`, for every such race found. */
const writersOf = (findings: ReadonlyArray<Finding.Finding>, cell: string) =>
  findings.flatMap((f) => {
    const p = f.problem
    if (p._tag !== "DataRace" || p.cell !== cell) return []
    return [p.first, p.second].filter((a) => a.mode === "write").map((a) => a.func ?? "?")
  })

describe("sysfs rebind of the peer's eth-rep during PAIR / UNPAIR", () => {
  it.effect("unbind_store / bind_store run mlx5e_rep_remove / mlx5e_rep_probe under the device lock, with no devlink lock", () =>
    Effect.sync(() => {
      const s = model.scenario(SCENARIO, "merged")
      const r = Explorer.runOnce(s.program, Effect.runSync(RandomStrategy.make({ seed: 1 })).next()!, {
        maxSteps: 20_000,
        livelockBound: 400
      })
      const calls: Array<string> = []
      for (const e of r.trace) if (e.task === "sysfs" && e.kind === "call" && !calls.includes(e.name)) calls.push(e.name)
      const order = [
        "unbind_store",
        "device_release_driver",
        "mlx5e_rep_remove",
        "mlx5_eswitch_unregister_vport_reps",
        "bind_store",
        "really_probe",
        "mlx5e_rep_probe",
        "mlx5_eswitch_register_vport_reps"
      ]
      assert.deepStrictEqual(
        calls.filter((c) => order.includes(c)),
        order
      )
      for (const e of r.trace) if (e.task === "sysfs" && e.kind === "op") assert.notInclude(e.holds ?? [], "pf1.devlink")
    })
  )

  it.effect("the rep_ops[ETH] race: the register writes them in every variant; the unregister too from reps V2 4/7 (it clears them)", () =>
    Effect.sync(() => {
      const cell = "pf1.esw->offloads.rep_ops[ETH]"
      const v1 = writersOf(explore("v1@5"), cell)
      assert.include(v1, "mlx5_eswitch_register_vport_reps_blocked")
      assert.notInclude(v1, "mlx5_eswitch_unregister_vport_reps_blocked")
      const v2 = writersOf(explore("v2"), cell)
      assert.include(v2, "mlx5_eswitch_unregister_vport_reps_blocked")
    })
  )

  it.effect(
    "past the race (--no-races): before V1 6/7 the rebound reps stay REGISTERED; later, the PAIR reads a freed mlx5e_rep_priv",
    () =>
      Effect.sync(() => {
        const baseline = explore("baseline", false).map((f) => f.summary)
        assert.isTrue(
          baseline.some((s) => s.includes("registration-completeness") && s.includes("pf1.esw:uplink.ETH is REGISTERED")),
          baseline.join("\n")
        )
        const merged = explore("merged", false).map((f) => f.summary)
        assert.isFalse(
          merged.some((s) => s.includes("registration-completeness")),
          merged.join("\n")
        )
        assert.isTrue(
          merged.some((s) => s.includes("use-after-free: mlx5e_rep_priv(pf1.esw:") && s.includes("freed by sysfs")),
          merged.join("\n")
        )
      })
  )

  // Found by `explore devcom-pair-vs-eth-rebind --variant <v> --no-races --strategy pct --depth 3
  // --seed 5 --schedules <n>` (V2: run 259 of 300; merged: run 8892 of 9000), shrunk to 2 preemptions.
  // Replayed strictly: a model change that moves a step makes it diverge, and the fixture must be
  // regenerated with that command.
  const replayFixture = (file: string, variant: string) => {
    const text = fs.readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")
    const schedule = Schema.decodeUnknownSync(Schedule.Schedule)(JSON.parse(text))
    assert.strictEqual(schedule.races, false)
    const r = Explorer.replayUnsafe(model.scenario(SCENARIO, variant), schedule)
    return r.outcome._tag === "Found" ? r.outcome.finding.summary : r.outcome._tag
  }

  it.effect(
    "F18: the schedules PCT found (2 preemptions, --no-races) dereference a NULL rep_ops[ETH]: V2's UNPAIR walk, merged's PAIR walk",
    () =>
      Effect.sync(() => {
        assert.include(
          replayFixture("f18-null-ops-unpair-v2.schedule.json", "v2"),
          "BUG: kernel NULL pointer dereference: pf1.esw rep_ops[ETH]->event in mlx5_esw_offloads_rep_event_unpair"
        )
        assert.include(
          replayFixture("f18-null-ops-pair-merged.schedule.json", "merged"),
          "BUG: kernel NULL pointer dereference: pf1.esw rep_ops[ETH]->event in mlx5_esw_offloads_pair"
        )
      })
  )
})
