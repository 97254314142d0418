/**
 * The classic examples: each buggy pattern gives its known finding (kind,
 * blocked tasks, what they wait for, who holds it, the cycle), each fixed one
 * is clean under bounded exhaustive search, saved counterexamples replay to
 * the same finding, and runs are deterministic.
 */
import { Explorer, Finding, type Scenario, UnknownName } from "@drvmodel/core"
import { classic, patterns } from "@drvmodel/examples"
import * as DrvmodelVitest from "@drvmodel/vitest"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { abbaPattern } from "../examples/classic/abba.ts"
import { destroyConcurrentPattern, destroyOrderedPattern } from "../examples/classic/destroy-under-lock.ts"
import { flushConcurrentPattern, flushOrderedPattern } from "../examples/classic/flush-under-lock.ts"
import { lostUpdatePattern } from "../examples/classic/lost-update.ts"
import { boundOf, type Pattern } from "../examples/classic/pattern.ts"
import { trylockLivelockPattern } from "../examples/classic/trylock-livelock.ts"

type Problem = Finding.Problem

const firstFinding = (scenario: Scenario, o: Partial<Record<keyof Explorer.ExploreOptions, unknown>>): Explorer.Counterexample => {
  const report = Effect.runSync(Explorer.explore(scenario, Explorer.options({ ...o, stopOnFirst: true })))
  const found = report.counterexamples[0]
  if (found === undefined) throw new Error(`${scenario.name}: nothing found in ${report.runs} ${report.strategy} runs`)
  return found
}

/** [task, pending op, resource, holders, holds] of each stuck task. */
const blockedOf = (problem: Problem) =>
  problem._tag === "Deadlock" || problem._tag === "Livelock"
    ? problem.blocked.map((b) => [b.task, b.op, b.resource, b.holders, b.holds])
    : []
const cycleOf = (problem: Problem) =>
  problem._tag === "Deadlock" || problem._tag === "Livelock" ? problem.cycle.map((e) => [e.task, e.resource, e.holder]) : []

/** The deadlock of the remove() pattern: `remove` waits in `waitOp` (a label) for the worker, which waits for dev->lock. */
const assertRemoveDeadlock = (problem: Problem, waitOp: string, worker: string) => {
  assert.strictEqual(problem._tag, "Deadlock")
  assert.deepStrictEqual(
    blockedOf(problem).sort(),
    [
      ["remove", waitOp, "wq", [worker], ["dev->lock"]],
      [worker, "mutex_lock(dev->lock)", "dev->lock", ["remove"], ["wq", "wq:dev_event_work"]]
    ].sort()
  )
  assert.deepStrictEqual(
    cycleOf(problem).sort(),
    [
      ["remove", "wq", worker],
      [worker, "dev->lock", "remove"]
    ].sort()
  )
  if (problem._tag === "Deadlock") {
    assert.deepStrictEqual(problem.blocked.map((b) => [b.task, b.func]).sort(), [
      ["remove", "dev_remove"],
      [worker, "dev_event_work"]
    ])
  }
}

describe("classic examples: buggy variants give their known finding", () => {
  it.effect("ABBA: both threads blocked, each holding the lock the other waits for", () =>
    Effect.sync(() => {
      for (const strategy of ["dfs", "pct", "random"] as const) {
        const problem = firstFinding(abbaPattern.buggy, { ...abbaPattern.defaults, strategy, seed: 7, schedules: 500 }).finding.problem
        assert.strictEqual(Finding.kindOf(problem), "deadlock", strategy)
        assert.deepStrictEqual(blockedOf(problem), [
          ["thread-1", "mutex_lock(B)", "B", ["thread-2"], ["A"]],
          ["thread-2", "mutex_lock(A)", "A", ["thread-1"], ["B"]]
        ])
        assert.deepStrictEqual(cycleOf(problem), [
          ["thread-1", "B", "thread-2"],
          ["thread-2", "A", "thread-1"]
        ])
      }
    })
  )

  it.effect("lost update: the counter ends at 1 after two increments", () =>
    Effect.sync(() => {
      const found = firstFinding(lostUpdatePattern.buggy, lostUpdatePattern.defaults)
      assert.strictEqual(found.kind, "invariant:no-lost-update")
      const problem = found.finding.problem
      assert.strictEqual(problem._tag, "InvariantViolation")
      if (problem._tag !== "InvariantViolation") return
      assert.strictEqual(problem.message, "counter is 1 after two increments")
      assert.deepStrictEqual(problem.state, { counter: "1" })
    })
  )

  it.effect("flush_workqueue under dev->lock: remove waits for the worker, the worker for dev->lock (ordered queue)", () =>
    Effect.sync(() => {
      const found = firstFinding(flushOrderedPattern.buggy, flushOrderedPattern.defaults)
      assert.strictEqual(found.kind, "deadlock")
      assertRemoveDeadlock(found.finding.problem, "flush_workqueue(wq) wait", "wq-worker")
    })
  )

  it.effect("flush_workqueue under dev->lock deadlocks on a concurrent queue too (max_active 4)", () =>
    Effect.sync(() => {
      assertRemoveDeadlock(
        firstFinding(flushConcurrentPattern.buggy, flushConcurrentPattern.defaults).finding.problem,
        "flush_workqueue(wq) wait",
        "wq-worker/0"
      )
      // Under PCT and random, whichever worker took the item is the one in the cycle.
      for (const strategy of ["pct", "random"] as const) {
        const problem = firstFinding(flushConcurrentPattern.buggy, { strategy, seed: 3, schedules: 2000 }).finding.problem
        const worker = problem._tag === "Deadlock" ? problem.blocked.find((b) => b.task !== "remove")?.task : undefined
        assert.match(worker ?? "", /^wq-worker\/[0-3]$/, strategy)
        assertRemoveDeadlock(problem, "flush_workqueue(wq) wait", worker!)
      }
    })
  )

  it.effect("destroy_workqueue under dev->lock: the drain waits for the worker (ordered and concurrent)", () =>
    Effect.sync(() => {
      assertRemoveDeadlock(
        firstFinding(destroyOrderedPattern.buggy, destroyOrderedPattern.defaults).finding.problem,
        "destroy_workqueue(wq)",
        "wq-worker"
      )
      assertRemoveDeadlock(
        firstFinding(destroyConcurrentPattern.buggy, destroyConcurrentPattern.defaults).finding.problem,
        "destroy_workqueue(wq)",
        "wq-worker/0"
      )
    })
  )

  it.effect("trylock retry loops: a no-progress livelock, found by DFS and by PCT", () =>
    Effect.sync(() => {
      for (const o of [trylockLivelockPattern.defaults, { strategy: "pct", seed: 1, schedules: 2000 }]) {
        const found = firstFinding(trylockLivelockPattern.buggy, o)
        const problem = found.finding.problem
        assert.strictEqual(found.kind, "livelock")
        assert.strictEqual(problem._tag, "Livelock")
        if (problem._tag !== "Livelock") return
        assert.strictEqual(problem.reason, "no-progress")
        assert.strictEqual(problem.steps, 400)
        // The witness is the symmetric lockstep under fair (round-robin) scheduling:
        // both threads keep failing their trylock in turn; neither is starved.
        assert.deepStrictEqual(problem.spinning.map((s) => s.task).sort(), ["thread-1", "thread-2"])
        assert.strictEqual(found.preemptions, 1)
        const tail = found.schedule.steps.slice(-8).map((st) => (st._tag === "Run" ? st.op : st.label))
        assert.includeMembers(tail, ["mutex_trylock(B)", "mutex_trylock(A)", "mutex_unlock(A)", "mutex_unlock(B)"])
        // No thread waits for a lock another holds: not a deadlock.
        assert.deepStrictEqual(
          problem.cycle.filter((e) => e.task !== e.holder),
          []
        )
      }
    })
  )

  it.effect("random scheduling finds it too: once each thread holds its first lock, fair scheduling keeps them in step", () =>
    Effect.sync(() => {
      const report = Effect.runSync(
        Explorer.explore(trylockLivelockPattern.buggy, Explorer.options({ strategy: "random", seed: 1, schedules: 500 }))
      )
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.kind),
        ["livelock"]
      )
      // The fixed back-off is clean under the same exploration.
      const fixed = Effect.runSync(
        Explorer.explore(trylockLivelockPattern.fixed, Explorer.options({ strategy: "random", seed: 1, schedules: 500 }))
      )
      assert.strictEqual(fixed.counterexamples.length, 0)
    })
  )
})

describe("classic examples: fixed variants are clean under bounded exhaustive search", () => {
  // it.explore: clean, and the bounded space exhausted; a finding fails with its shrunk counterexample.
  for (const pattern of patterns) {
    DrvmodelVitest.it.explore(`${pattern.name}: ${pattern.fix}`, pattern.fixed, {
      strategy: "dfs",
      preemptions: boundOf(pattern),
      schedules: 1_000_000,
      exhaustive: true
    })
  }

  it.effect("the same bounded search does find each buggy variant", () =>
    Effect.sync(() => {
      for (const pattern of patterns) {
        const report = Effect.runSync(
          Explorer.explore(
            pattern.buggy,
            Explorer.options({ strategy: "dfs", preemptions: boundOf(pattern), schedules: 1_000_000, stopOnFirst: true })
          )
        )
        assert.strictEqual(report.stopped, "found", pattern.name)
      }
    })
  )
})

describe("classic examples: saved counterexamples", () => {
  const roundTrip = (c: Explorer.Counterexample): Explorer.Counterexample =>
    Schema.decodeUnknownSync(Explorer.Counterexample)(JSON.parse(JSON.stringify(Schema.encodeSync(Explorer.Counterexample)(c))))

  for (const pattern of patterns) {
    it.effect(`${pattern.name}: the schedule saved as JSON replays to the same finding`, () =>
      Effect.sync(() => {
        const found = firstFinding(pattern.buggy, pattern.defaults)
        const saved = roundTrip(found)
        assert.deepStrictEqual(saved, found)
        const replayed = Effect.runSync(Explorer.replay(pattern.buggy, saved.schedule))
        assert.strictEqual(replayed.outcome._tag, "Found")
        if (replayed.outcome._tag !== "Found") return
        assert.strictEqual(Finding.signatureOf(replayed.outcome.finding.problem), Finding.signatureOf(saved.finding.problem))
        assert.deepStrictEqual(replayed.outcome.finding, saved.finding)
        assert.strictEqual(replayed.steps, saved.steps)
      })
    )
  }
})

describe("classic examples: determinism", () => {
  const runs = (pattern: Pattern, strategy: "random" | "pct", seed: number): string => {
    // A fresh strategy per call: nothing is shared between the two runs compared.
    const o = Explorer.options({ strategy, seed, maxSteps: 2000 })
    const s = Effect.runSync(Explorer.strategyFor(o))
    const out = []
    for (let i = 0; i < 3; i++) {
      const r = Explorer.runOnce(pattern.buggy.program, s.next()!, o)
      s.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
      out.push({ outcome: r.outcome, schedule: r.schedule, trace: r.trace, steps: r.steps, preemptions: r.preemptions })
    }
    return JSON.stringify(out)
  }

  it.effect("for 60 seeds, two separate runs give the same trace and schedule (random and PCT)", () =>
    Effect.sync(() => {
      for (const pattern of [flushConcurrentPattern, trylockLivelockPattern, lostUpdatePattern]) {
        for (const strategy of ["random", "pct"] as const) {
          const distinct = new Set<string>()
          for (let seed = 0; seed < 60; seed++) {
            const first = runs(pattern, strategy, seed)
            assert.strictEqual(runs(pattern, strategy, seed), first, `${pattern.name} ${strategy} seed ${seed}`)
            distinct.add(first)
          }
          // The seeds do explore different schedules.
          assert.isAbove(distinct.size, 1, `${pattern.name} ${strategy}`)
        }
      }
    })
  )

  it.effect("an exploration report is the same on two runs", () =>
    Effect.sync(() => {
      for (const strategy of ["random", "pct", "dfs"] as const) {
        const o = Explorer.options({ strategy, seed: 11, schedules: 300 })
        const strip = (r: Explorer.Report) => JSON.stringify({ ...r, elapsedMs: 0 })
        assert.strictEqual(
          strip(Effect.runSync(Explorer.explore(flushConcurrentPattern.buggy, o))),
          strip(Effect.runSync(Explorer.explore(flushConcurrentPattern.buggy, o)))
        )
      }
    })
  )
})

describe("classic model", () => {
  it.effect("lists every pattern with buggy and fixed variants", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(
        classic.scenarios.map((s) => s.name),
        [
          "abba",
          "lost-update",
          "flush-under-lock-ordered",
          "flush-under-lock-concurrent",
          "destroy-under-lock-ordered",
          "destroy-under-lock-concurrent",
          "trylock-livelock"
        ]
      )
      for (const s of classic.scenarios) {
        assert.strictEqual(classic.scenario(s.name, "buggy").program, patterns.find((p) => p.name === s.name)!.buggy.program)
        assert.strictEqual(classic.scenario(s.name, "fixed").program, patterns.find((p) => p.name === s.name)!.fixed.program)
        assert.strictEqual(classic.scenario(s.name, "fixed").name, s.name)
      }
    })
  )

  it.effect("unknown names throw UnknownName naming the known ones", () =>
    Effect.sync(() => {
      assert.throws(() => classic.scenario("nope", "buggy"), UnknownName)
      assert.throws(() => classic.scenario("abba", "nope"), /unknown variant "nope"; known: buggy, fixed/)
    })
  )
})
