/**
 * A remote firmware sync reset on a device probed with V1 7/7's switchdev profile (coverage notes
 * §5.1): the reset's reload runs `mlx5_set_default_switchdev` while `RESET_IN_PROGRESS` is still
 * set, so its mode set returns -EBUSY and the device stays in legacy. One schedule each: the reset
 * runs to its end before SR-IOV starts (no preemption).
 */
import { Explorer, LockOrder } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const runOnce = (variant: string) => {
  const r = Explorer.runOnce(model.scenario("fw-reset-with-profile", variant).program, LockOrder.nonPreemptive(), {
    maxSteps: 20_000,
    livelockBound: 400
  })
  const problem = r.outcome._tag === "Found" ? r.outcome.finding.problem : undefined
  const message = problem?._tag === "InvariantViolation" ? `${problem.invariant}: ${problem.message}` : (problem?._tag ?? "")
  // mlx5_set_default_switchdev's "failed setting switchdev as default" from the reset's reload
  const warned = r.trace.some((e) => e.kind === "op" && e.task === "fw_reset" && e.name === "mlx5_core_warn")
  return { outcome: r.outcome._tag, message, warned }
}

describe("remote firmware reset with the switchdev profile", () => {
  it.effect("V1 7/7 and reps V2 7/7: the profile's mode set gets -EBUSY inside the reset's reload; the device stays legacy", () =>
    Effect.sync(() => {
      for (const variant of ["v1@7", "v2"]) {
        const r = runOnce(variant)
        assert.strictEqual(r.outcome, "Found", variant)
        assert.include(r.message, "switchdev-profile-applied", variant)
        assert.include(r.message, "LEGACY", variant)
        assert.isTrue(r.warned, `${variant}: "failed setting switchdev as default"`)
      }
    })
  )

  it.effect("with the later fix (RESET_IN_PROGRESS cleared before the reload) the profile applies", () =>
    Effect.sync(() => {
      for (const variant of ["v1@7+fw-reset-clear-before-reload", "v2+fw-reset-clear-before-reload"]) {
        const r = runOnce(variant)
        assert.strictEqual(r.outcome, "Finished", `${variant}: ${r.message}`)
        assert.isFalse(r.warned, variant)
      }
    })
  )

  it.effect("without the profile (baseline, merged) there is nothing to apply", () =>
    Effect.sync(() => {
      for (const variant of ["baseline", "merged"]) assert.strictEqual(runOnce(variant).outcome, "Finished", variant)
    })
  )
})
