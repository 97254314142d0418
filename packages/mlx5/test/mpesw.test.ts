/**
 * MPESW from its real caller (issue 13, coverage notes §5.2): `devlink dev param set esw_multiport`
 * holds the PF's devlink lock while `mlx5_lag_mpesw_queue_work` waits for `mlx5_mpesw_work` on the
 * ordered `ldev->wq`. Each test runs one schedule of `mpesw-vs-mode-set` chosen by task priority and
 * checks what the C does on it; each fails if the rule it names is taken out of the model.
 */
import { Explorer } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/**
 * One run: at each point the first task of `order` whose next operation `until` does not yet hold
 * back runs; otherwise the task that ran last goes on (no preemption), else the first candidate.
 */
const runWith = (
  variant: string,
  order: ReadonlyArray<string>,
  options: { readonly paramPf?: number; readonly holdBack?: (task: string, op: string) => boolean } = {}
) => {
  const holdBack = options.holdBack ?? (() => false)
  const s = model.scenario("mpesw-vs-mode-set", variant)
  const r = Explorer.runOnce(
    s.program,
    {
      pick: (point) => {
        for (const name of order) {
          const i = point.candidates.findIndex((c) => c.task === name && !holdBack(c.task, c.op))
          if (i >= 0) return i
        }
        const cur = point.candidates.findIndex((c) => c.task === point.current && !holdBack(c.task, c.op))
        if (cur >= 0) return cur
        const free = point.candidates.findIndex((c) => !holdBack(c.task, c.op))
        return free >= 0 ? free : 0
      },
      // param-pf as given (default pf0); the mode set's PF: pf0
      choose: (label) => (label === "param-pf" ? (options.paramPf ?? 0) : 0)
    },
    { maxSteps: 20_000, livelockBound: 400 }
  )
  const calls = r.trace.filter((e) => e.kind === "call").map((e) => `${e.task}:${e.name}`)
  return { r, calls, outcome: r.outcome._tag }
}

describe("MPESW: devlink param esw_multiport → ldev->wq → wait_for_completion", () => {
  it.effect("uncontended: the param thread waits holding pf0's devlink lock; the ldev->wq worker enables MPESW, then disables it", () =>
    Effect.sync(() => {
      for (const variant of ["baseline", "v1@7", "merged"]) {
        const { r, calls, outcome } = runWith(variant, ["param"])
        assert.strictEqual(outcome, "Finished", variant)
        const wait = r.trace.find((e) => e.kind === "op" && e.task === "param" && e.name === "wait_for_completion")
        assert.isDefined(wait, `${variant}: the param thread waits for the work`)
        assert.include(wait?.holds ?? [], "pf0.devlink", `${variant}: …holding its PF's devlink lock (devlink_nl_pre_doit)`)
        const worker = calls.filter((c) => c.startsWith("ldev->wq"))
        const names = worker.map((c) => c.slice(c.indexOf(":") + 1))
        assert.includeMembers(names, ["mlx5_mpesw_work", "enable_mpesw", "mlx5_activate_lag", "disable_mpesw", "mlx5_disable_lag"], variant)
        assert.isBelow(names.indexOf("enable_mpesw"), names.indexOf("disable_mpesw"), variant)
      }
    })
  )

  it.effect("a PF already in legacy: enable_mpesw refuses (mlx5_lag_check_prereq), no LAG is activated", () =>
    Effect.sync(() => {
      const { calls, outcome } = runWith("merged", ["devlink", "param"])
      assert.strictEqual(outcome, "Finished")
      assert.include(calls, "ldev->wq-worker:enable_mpesw")
      assert.notInclude(calls, "ldev->wq-worker:mlx5_activate_lag")
    })
  )

  it.effect("a mode change in progress: the work returns -EAGAIN without touching the LAG", () =>
    Effect.sync(() => {
      // The param thread works on pf1 (its devlink lock is free); the mode set on pf0 runs first
      // until it has fenced the LAG (mlx5_lag_disable_change raised mode_changes_in_progress and
      // dropped ldev->lock and devcom) and is about to take esw->mode_lock, and waits there while
      // anything else can run.
      const { calls, outcome } = runWith("merged", ["devlink", "param", "ldev->wq-worker"], {
        paramPf: 1,
        holdBack: (task, op) => task === "devlink" && op.includes("mode_lock")
      })
      assert.strictEqual(outcome, "Finished")
      assert.include(calls, "ldev->wq-worker:mlx5_mpesw_work")
      assert.notInclude(calls, "ldev->wq-worker:enable_mpesw")
    })
  )
})
