import { Explorer, Finding, Shrink } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const abba = classic.scenario("abba", "buggy")
const lostUpdate = classic.scenario("lost-update", "buggy")

describe("Shrink", () => {
  it.effect("shrinks a random ABBA deadlock to one preemption and keeps the same finding", () =>
    Effect.sync(() => {
      const report = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 200, seed: 0 })))
      const cx = report.counterexamples[0]!
      assert.isAbove(cx.preemptions, 1, "the random schedule should have extra preemptions to remove")
      const { counterexample: shrunk, result } = Effect.runSync(Shrink.counterexample(abba, cx))
      assert.strictEqual(shrunk.preemptions, 1)
      assert.isAtMost(shrunk.steps, cx.steps)
      assert.deepStrictEqual(shrunk.original, { steps: cx.steps, preemptions: cx.preemptions })
      assert.strictEqual(Finding.signatureOf(shrunk.finding.problem), Finding.signatureOf(cx.finding.problem))
      assert.isTrue(result.complete)
      // The shrunk schedule replays strictly to the same finding.
      const again = Effect.runSync(Explorer.replay(abba, shrunk.schedule))
      assert.strictEqual(again.outcome._tag, "Found")
      if (again.outcome._tag === "Found") {
        assert.strictEqual(Finding.signatureOf(again.outcome.finding.problem), Finding.signatureOf(cx.finding.problem))
      }
      assert.strictEqual(again.preemptions, 1)
    })
  )

  it.effect("observers see every replay's operations (a worker's heartbeat ticks while it shrinks) and change nothing", () =>
    Effect.sync(() => {
      const report = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 200, seed: 0 })))
      const cx = report.counterexamples[0]!
      let ops = 0
      const watched = Effect.runSync(Shrink.counterexample(abba, cx, { observers: [{ onOp: () => void ops++ }] }))
      const plain = Effect.runSync(Shrink.counterexample(abba, cx))
      assert.isAtLeast(ops, watched.result.replays * 2, "at least two operations per replay")
      assert.deepStrictEqual(watched.counterexample.schedule, plain.counterexample.schedule)
    })
  )

  it.effect("keeps an invariant violation an invariant violation", () =>
    Effect.sync(() => {
      const report = Effect.runSync(Explorer.explore(lostUpdate, Explorer.options({ strategy: "random", schedules: 200, seed: 3 })))
      const cx = report.counterexamples[0]!
      const { counterexample: shrunk } = Effect.runSync(Shrink.counterexample(lostUpdate, cx))
      assert.strictEqual(shrunk.kind, "invariant:no-lost-update")
      assert.strictEqual(shrunk.preemptions, 1)
      assert.isAtMost(shrunk.preemptions, cx.preemptions)
    })
  )

  it.effect("is deterministic and bounded by its replay budget", () =>
    Effect.sync(() => {
      const cx = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 200, seed: 0 })))
        .counterexamples[0]!
      const sig = Shrink.signatureOfCounterexample(cx)
      const a = Effect.runSync(Shrink.shrink(abba, cx.schedule, sig))
      const b = Effect.runSync(Shrink.shrink(abba, cx.schedule, sig))
      assert.deepStrictEqual(a.execution.schedule, b.execution.schedule)
      const tight = Effect.runSync(Shrink.shrink(abba, cx.schedule, sig, { maxReplays: 2 }))
      assert.isAtMost(tight.replays, 2)
      assert.isFalse(tight.complete)
    })
  )

  it.effect("refuses a schedule that does not reproduce the finding", () =>
    Effect.sync(() => {
      const cx = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "dfs" }))).counterexamples[0]!
      const fixed = classic.scenario("abba", "fixed")
      assert.throws(() => Effect.runSync(Shrink.shrink(fixed, cx.schedule, Shrink.signatureOfCounterexample(cx))), Shrink.NotReproduced)
    })
  )

  it.effect("minimalDepth proves the depth by exhausting every lower bound", () =>
    Effect.sync(() => {
      const cx = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 200, seed: 0 })))
        .counterexamples[0]!
      const r = Effect.runSync(Shrink.shrink(abba, cx.schedule, Shrink.signatureOfCounterexample(cx), { minimalDepth: { runs: 1000 } }))
      assert.strictEqual(r.execution.preemptions, 1)
      assert.isAbove(cx.preemptions, 1)
      // Bound 0 is searched to the end without a witness; bound 1 yields the one-preemption witness.
      assert.include(r.depthSearch?.bounds[0], { bound: 0, exhausted: true })
      assert.strictEqual(r.depthSearch?.bounds[1]?.bound, 1)
      assert.isTrue(r.depthSearch?.minimal)
      // Too small a search budget cannot prove anything.
      const none = Effect.runSync(Shrink.shrink(abba, cx.schedule, Shrink.signatureOfCounterexample(cx), { minimalDepth: { runs: 0 } }))
      assert.isFalse(none.depthSearch!.minimal)
    })
  )
})
