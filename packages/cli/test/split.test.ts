/**
 * One exploration split into segments: DFS subtrees merge into exactly the
 * unsplit search (runs, steps, coverage, counterexamples and their run
 * indices, also when the budget cuts the search); random and PCT seed ranges
 * merge the same way in any order; and on worker threads the report is the
 * same for --jobs 1, 2 and 3.
 */
import { Explorer, type Report } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pool, Split } from "../src/index.ts"

/** What must agree between two reports (everything but the wall time). */
const essence = (r: Report) => ({
  runs: r.runs,
  steps: r.steps,
  stepLimitHits: r.stepLimitHits,
  maxStepsPerRun: r.maxStepsPerRun,
  stopped: r.stopped,
  coverage: r.coverage,
  counterexamples: r.counterexamples.map((c) => ({ run: c.run, kind: c.kind, schedule: c.schedule, steps: c.steps, trace: c.trace }))
})

const unsplit = (...args: Parameters<typeof Explorer.explore>) => Effect.runSync(Explorer.explore(...args))

const splitInProcess = (scenario: ReturnType<typeof classic.scenario>, o: Explorer.ExploreOptions, reverse = false) => {
  const plan = Split.plan(scenario, o)
  const results = Effect.runSync(Effect.forEach(plan, (s) => Split.run(scenario, o, s)))
  return { plan, report: Split.merge(scenario.name, o, reverse ? results.reverse() : results, plan.length, 0) }
}

describe("an exploration split into segments", () => {
  it.effect("DFS subtrees give the unsplit search, whole and cut by the budget", () =>
    Effect.sync(() => {
      let split = 0
      for (const name of ["destroy-under-lock-concurrent", "destroy-under-lock-ordered", "flush-under-lock-concurrent", "abba"]) {
        for (const variant of ["buggy", "fixed"]) {
          const scenario = classic.scenario(name, variant)
          for (const preemptions of [2, 4]) {
            const full = Explorer.options({ strategy: "dfs", preemptions, schedules: 100_000 })
            const whole = unsplit(scenario, full, { variant })
            const { plan, report } = splitInProcess(scenario, full)
            if (plan.length > 1) split++
            assert.deepStrictEqual(essence(report), essence(whole), `${name}/${variant} p=${preemptions}`)
            // A budget that stops the search part-way (the split is planned for the larger budget's shape).
            const cut = Explorer.options({ strategy: "dfs", preemptions, schedules: Math.max(1, Math.floor(whole.runs * 0.6)) })
            assert.deepStrictEqual(
              essence(splitInProcess(scenario, cut).report),
              essence(unsplit(scenario, cut, { variant })),
              `${name}/${variant} p=${preemptions} cut`
            )
          }
        }
      }
      assert.isAbove(split, 3, "some searches were really split")
    })
  )

  it.effect("random and PCT: 1000-schedule seed ranges; the first is the unsplit exploration of the seed", () =>
    Effect.sync(() => {
      const scenario = classic.scenario("lost-update", "buggy")
      for (const strategy of ["random", "pct"] as const) {
        const o = Explorer.options({ strategy, schedules: 2500, seed: 11 })
        const plan = Split.plan(scenario, o)
        assert.deepStrictEqual(
          plan.map((s) => s.schedules),
          [1000, 1000, 500]
        )
        assert.strictEqual(plan[0]!.seed, 11)
        assert.strictEqual(new Set(plan.map((s) => s.seed)).size, 3)
        const first = unsplit(scenario, Explorer.options({ strategy, schedules: 1000, seed: 11 }))
        const one = Split.merge(scenario.name, { ...o, schedules: 1000 }, [Effect.runSync(Split.run(scenario, o, plan[0]!))], 1, 0)
        assert.deepStrictEqual(essence(one), essence(first))
        assert.deepStrictEqual(essence(splitInProcess(scenario, o, true).report), essence(splitInProcess(scenario, o).report))
        assert.strictEqual(splitInProcess(scenario, o).report.runs, 2500)
      }
      const small = Explorer.options({ strategy: "random", schedules: 1000 })
      assert.strictEqual(Split.plan(scenario, small).length, 1)
    })
  )

  it.effect("stopOnFirst keeps the segments up to the first finding", () =>
    Effect.sync(() => {
      const scenario = classic.scenario("abba", "buggy")
      const o = Explorer.options({ strategy: "dfs", preemptions: 4, schedules: 100_000, stopOnFirst: true })
      assert.deepStrictEqual(essence(splitInProcess(scenario, o).report), essence(unsplit(scenario, o)))
    })
  )

  it.effect("on worker threads: the same report for --jobs 1, 2 and 3 (PCT: 2)", () =>
    Effect.promise(async () => {
      const cases = [
        {
          scenario: "destroy-under-lock-concurrent",
          variant: "buggy",
          o: Explorer.options({ strategy: "dfs", preemptions: 4, schedules: 100_000 })
        },
        { scenario: "lost-update", variant: "buggy", o: Explorer.options({ strategy: "pct", schedules: 3000, seed: 4 }) }
      ]
      for (const c of cases) {
        const scenario = classic.scenario(c.scenario, c.variant)
        const expected = essence(splitInProcess(scenario, c.o).report)
        const segments = Split.plan(scenario, c.o)
        assert.isAbove(segments.length, 1)
        for (const jobs of c.o.strategy === "dfs" ? [1, 2, 3] : [2]) {
          const { report, stuck } = await Effect.runPromise(
            Pool.explore("classic", c.scenario, c.variant, c.o, segments, { jobs, inProcessMs: 0 })
          )
          assert.deepStrictEqual(stuck, [])
          assert.deepStrictEqual(essence(report), expected, `${c.scenario} --jobs ${jobs}`)
        }
      }
    })
  )
})
