import { Explorer, Finding } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/**
 * The model declares `footprints: "complete"` (every shared member is a kernel object), so the
 * matrix trusts DPOR on it. Evidence: on the cells small enough for unbounded DFS to exhaust,
 * DPOR exhausts too and reaches the same findings, in no more executions.
 */
const CELLS: ReadonlyArray<readonly [string, string]> = [
  ["boot-with-switchdev-profile", "baseline"],
  ["guard-reentry", "baseline"],
  ["guard-reentry", "v1@5"],
  ["late-ib-load", "baseline"],
  // fault choices (Kernel.choose) and the shared fault budget (a ghost cell) in the footprints
  // (vf-event-faults left this list when the EQ handler became an interrupt of its own: unbounded
  // DFS no longer exhausts it within 5,000 schedules)
  ["late-ib-load-faults", "baseline"]
]

const signatures = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => Finding.signatureOf(c.finding.problem)))].sort()

describe("DPOR on the mlx5 model", () => {
  it.effect("teardown-with-pending-work × merged: exhausted within the matrix's budget (the worker's wait on the queue is no write)", () =>
    Effect.gen(function* () {
      // esw_wq_handler loops devl_trylock → wait_event_timeout(work_queue_wait) while remove
      // holds the devlink lock. When joining the wait queue was a write, the loop was not
      // read-only, stayed under the fairness rule, and DPOR did not exhaust in 2,000 executions
      // (442 classes); now 356.
      const dpor = yield* Explorer.explore(
        model.scenario("teardown-with-pending-work", "merged"),
        Explorer.options({ strategy: "dpor", schedules: 2_000 })
      )
      assert.strictEqual(dpor.stopped, "exhausted")
      assert.deepStrictEqual(signatures(dpor), [])
    })
  )

  it.effect("small cells: DPOR and unbounded DFS both exhaust, with the same findings", () =>
    Effect.gen(function* () {
      assert.strictEqual(model.footprints, "complete")
      for (const [s, v] of CELLS) {
        const sc = model.scenario(s, v)
        const dfs = yield* Explorer.explore(sc, Explorer.options({ strategy: "dfs", preemptions: 10_000_000, schedules: 5_000 }))
        const dpor = yield* Explorer.explore(sc, Explorer.options({ strategy: "dpor", schedules: 5_000 }))
        assert.strictEqual(dfs.stopped, "exhausted", `${s}/${v}: DFS`)
        assert.strictEqual(dpor.stopped, "exhausted", `${s}/${v}: DPOR`)
        assert.deepStrictEqual(signatures(dpor), signatures(dfs), `${s}/${v}`)
        assert.isAtMost(dpor.runs, dfs.runs, `${s}/${v}`)
      }
    })
  )
})
