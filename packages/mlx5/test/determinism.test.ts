/**
 * Determinism at scale: a run is a pure function of model, scenario and
 * schedule. 1,000 seeds of an mlx5 scenario run twice in order and once in
 * another order give identical schedules, traces and findings; the first
 * 1,000 runs of the bounded DFS give the same sequence twice, and their
 * schedules replayed in reverse order give the same traces and findings.
 */
import { createHash } from "node:crypto"
import { DfsStrategy, Explorer, RandomStrategy } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

// Teardown with pending work on the baseline: timers, a workqueue, data choices and a deadlock
// that some schedules reach (so findings are part of what is compared).
const scenario = model.scenario("teardown-with-pending-work", "baseline")
const limits = { maxSteps: 5000, livelockBound: 400 }
const seeds = Array.from({ length: 1000 }, (_, i) => i)

/** Everything observable about one execution, hashed. */
const digest = (r: ReturnType<typeof Explorer.runOnce>): string =>
  createHash("sha256")
    .update(JSON.stringify([r.schedule, r.trace, r.outcome, r.steps, r.preemptions, r.time]))
    .digest("hex")

const bySeed = (seed: number): string =>
  digest(Explorer.runOnce(scenario.program, Effect.runSync(RandomStrategy.make({ seed })).next()!, limits))

describe("determinism at scale", () => {
  it.effect("1,000 random seeds: twice in order and once in reverse give identical runs", () =>
    Effect.sync(() => {
      const first = new Map<number, string>()
      let findings = 0
      for (const s of seeds) {
        const r = Explorer.runOnce(scenario.program, Effect.runSync(RandomStrategy.make({ seed: s })).next()!, limits)
        first.set(s, digest(r))
        if (r.outcome._tag === "Found") findings++
      }
      for (const s of seeds) assert.strictEqual(bySeed(s), first.get(s), `seed ${s}, second pass`)
      for (const s of [...seeds].reverse()) assert.strictEqual(bySeed(s), first.get(s), `seed ${s}, reverse order`)
      // The comparison covers runs with findings and without.
      assert.isAbove(findings, 0)
      assert.isBelow(findings, seeds.length)
      assert.isAbove(new Set(first.values()).size, 100, "different seeds give different runs")
    })
  )

  it.effect("the first 1,000 DFS runs: the same sequence twice, and replayed in reverse order", () =>
    Effect.sync(() => {
      const dfs = () => {
        const strategy = DfsStrategy.make({ preemptions: 2 })
        const out: Array<{ readonly digest: string; readonly schedule: Explorer.Counterexample["schedule"]; readonly outcome: string }> = []
        for (let i = 0; i < 1000; i++) {
          const chooser = strategy.next()
          if (chooser === undefined) break
          const r = Explorer.runOnce(scenario.program, chooser, limits)
          strategy.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
          out.push({ digest: digest(r), schedule: r.schedule, outcome: r.outcome._tag })
        }
        return out
      }
      const a = dfs()
      const b = dfs()
      assert.strictEqual(a.length, 1000)
      assert.deepStrictEqual(
        b.map((x) => x.digest),
        a.map((x) => x.digest)
      )
      for (let i = a.length - 1; i >= 0; i--) {
        const again = Explorer.replayUnsafe(scenario, a[i]!.schedule, limits)
        assert.strictEqual(digest(again), a[i]!.digest, `DFS run ${i} replayed`)
      }
      assert.isAbove(a.filter((x) => x.outcome === "Found").length, 0, "the DFS prefix reaches the deadlock")
    })
  )
})
