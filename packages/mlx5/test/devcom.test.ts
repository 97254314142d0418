/**
 * devcom ESW_OFFLOADS PAIR / UNPAIR (issue 13 item 1, notes §1.2): the end of
 * `esw_offloads_enable` sends PAIR and the start of `esw_offloads_disable`
 * sends UNPAIR under the NIC's ESW_OFFLOADS devcom component; the handler walks
 * the reps of both E-Switches and calls mlx5e's `->event`, which reads the rep's
 * `mlx5e_rep_priv` — on the peer, with none of the peer's locks.
 */
import { Explorer, Finding, RandomStrategy } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/** The kernel functions a task called in one run, in order of first call. */
const callsOf = (scenario: string, variant: string, task: string) => {
  const s = model.scenario(scenario, variant)
  const r = Explorer.runOnce(s.program, Effect.runSync(RandomStrategy.make({ seed: 1 })).next()!, { maxSteps: 20_000, livelockBound: 400 })
  const calls: Array<string> = []
  for (const e of r.trace) if (e.task === task && e.kind === "call" && !calls.includes(e.name)) calls.push(e.name)
  return calls
}

/** The defect messages DPOR reports in a cell within `schedules` executions. */
const defects = (variant: string, schedules: number) => {
  const s = model.scenario("devcom-pair", variant)
  const r = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dpor", schedules }), { variant }))
  return r.counterexamples.map((c) => (c.finding.problem._tag === "Defect" ? c.finding.problem.message : Finding.kindOf(c.finding.problem)))
}

describe("devcom ESW_OFFLOADS PAIR / UNPAIR", () => {
  it.effect(
    "pf0's switchdev entry pairs with pf1 (the handler calls mlx5e_vport_rep_event_pair on pf1's loaded reps); its way back unpairs first",
    () =>
      Effect.sync(() => {
        const calls = callsOf("devcom-pair", "merged", "devlink")
        const order = [
          "esw_offloads_enable",
          "mlx5_esw_offloads_devcom_init",
          "mlx5_devcom_register_component",
          "mlx5_devcom_send_event",
          "mlx5_esw_offloads_devcom_event",
          "mlx5_esw_offloads_pair",
          "mlx5e_vport_rep_event_pair",
          "esw_offloads_disable",
          "mlx5_esw_offloads_devcom_cleanup",
          "mlx5_esw_offloads_unpair",
          "mlx5e_vport_rep_event_unpair",
          "mlx5_devcom_unregister_component"
        ]
        assert.deepStrictEqual(
          calls.filter((c) => order.includes(c)),
          order
        )
      })
  )

  it.effect("a single-port device has no ESW_OFFLOADS component: esw_offloads_enable returns from devcom_init before registering", () =>
    Effect.sync(() => {
      const calls = callsOf("late-ib-load", "merged", "devlink")
      assert.include(calls, "mlx5_esw_offloads_devcom_init")
      assert.notInclude(calls, "mlx5_devcom_register_component")
      assert.notInclude(calls, "mlx5_devcom_send_event")
    })
  )

  it.effect(
    "every variant: pf1's SR-IOV disable frees a VF rep's mlx5e_rep_priv unordered with the PAIR / UNPAIR reader (KASAN use-after-free)",
    () =>
      Effect.sync(() => {
        for (const variant of ["baseline", "v1@5", "merged"]) {
          const all = defects(variant, 400)
          for (const which of ["mlx5e_vport_rep_event_pair", "mlx5e_vport_rep_event_unpair"])
            assert.isTrue(
              all.some((m) =>
                new RegExp(
                  `use-after-free: mlx5e_rep_priv\\(pf1\\.esw:vf\\d\\)#\\d+ freed by sriov in mlx5e_vport_rep_unload still reached by devlink in ${which}$`
                ).test(m)
              ),
              `${variant} ${which}: ${all.join("\n")}`
            )
        }
      }),
    120_000
  )
})
