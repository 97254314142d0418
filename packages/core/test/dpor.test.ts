import { Atomic, Cell, type Chooser, Explorer, Finding, Kernel, Mutex, Sched, WaitQueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { classic } from "../../../examples/index.ts"
import { program } from "./support/programs.ts"

const scenario = (name: string, body: Effect.Effect<void, unknown, Kernel>): Explorer.Scenario => ({
  name,
  description: name,
  program: body
})

/** N tasks, each `lock(A); unlock(A); atomic_inc(private_i)` (or its own lock): N! classes (or 1). */
const family = (n: number, privateLocks = false) =>
  scenario(
    `family-${n}`,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const shared = yield* Mutex.make("A")
      for (let i = 0; i < n; i++) {
        const lock = privateLocks ? yield* Mutex.make(`L${i}`) : shared
        const counter = yield* Atomic.make(`c${i}`, 0)
        yield* kernel.spawn(
          `t${i}`,
          Effect.gen(function* () {
            yield* lock.lock
            yield* lock.unlock
            yield* Atomic.inc(counter)
          })
        )
      }
    })
  )

const dpor = (s: Explorer.Scenario, more: Partial<Explorer.ExploreOptions> = {}) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dpor", schedules: 100_000, maxFindings: 100, ...more })))
const dfs = (s: Explorer.Scenario, schedules: number) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions: 1000, schedules, maxFindings: 100 })))
const signatures = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => Finding.signatureOf(c.finding.problem)))].sort()
const classesOf = (r: Explorer.Report) => (r.coverage._tag === "Dpor" ? r.coverage : assert.fail(`coverage ${r.coverage._tag}`))
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1))

/**
 * Runs each generated program of `seeds` under unbounded DFS (`budget` runs) and, where that
 * exhausts, under DPOR: both must reach the same terminal states and finding signatures, DPOR
 * exhausted. Returns the compared programs' texts and both searches' run counts.
 */
const againstDfs = (
  seeds: number,
  make: (seed: number) => ReturnType<typeof program>,
  budget: number,
  options: { readonly only?: RegExp; readonly noMoreRuns?: boolean } = {}
) => {
  const texts: Array<string> = []
  let reducedRuns = 0
  let referenceRuns = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const a = make(seed)
    if (options.only !== undefined && !options.only.test(a.text)) continue
    const reference = dfs(a.scenario, budget)
    if (reference.stopped !== "exhausted") continue // too big to check against
    const b = make(seed)
    const reduced = dpor(b.scenario)
    const what = `seed ${seed}:\n${a.text}`
    assert.isTrue(classesOf(reduced).exhausted, what)
    assert.deepStrictEqual([...b.terminal].sort(), [...a.terminal].sort(), what)
    assert.deepStrictEqual(signatures(reduced), signatures(reference), what)
    if (options.noMoreRuns === true) assert.isAtMost(reduced.runs, reference.runs, what)
    texts.push(a.text)
    reducedRuns += reduced.runs
    referenceRuns += reference.runs
  }
  return { texts, reducedRuns, referenceRuns }
}

describe("dpor", () => {
  it.effect("lock; unlock; atomic_inc(private) with N tasks: exactly N! executions, N = 1..6", () =>
    Effect.sync(() => {
      for (let n = 1; n <= 6; n++) {
        const report = dpor(family(n))
        assert.strictEqual(report.runs, factorial(n), `N=${n}`)
        assert.deepStrictEqual(classesOf(report), {
          _tag: "Dpor",
          exhausted: true,
          classes: factorial(n),
          sleepBlocked: 0,
          truncatedRuns: 0
        })
      }
    })
  )

  it.effect("8 tasks on 8 private locks: one execution", () =>
    Effect.sync(() => {
      const report = dpor(family(8, true))
      assert.strictEqual(report.runs, 1)
      assert.isTrue(classesOf(report).exhausted)
    })
  )

  it.effect("what an op's apply reads (a wait condition) is in its step's footprint", () =>
    Effect.sync(() => {
      // t1 waits (10 ms) for c == 1; t2 sets c to 1 and back to 0 and never wakes it. Only when
      // t1's first check falls between t2's two stores does it see 1. That check runs inside the
      // op's apply: unless its read of c is recorded, DPOR takes it as independent of t2's
      // stores and explores one order only.
      const s = scenario(
        "condition-read-in-apply",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const q = yield* WaitQueue.make("q")
          const c = yield* Cell.make("c", 0)
          const saw = yield* Cell.make("saw", false, { ghost: true })
          kernel.invariant({
            name: "never-sees-1",
            description: "t1 never sees c == 1",
            when: "eventual",
            check: () => !saw.peek() || "t1 saw c == 1"
          })
          yield* kernel.spawn(
            "t1",
            Effect.gen(function* () {
              const left = yield* q.waitEventTimeout(() => c.peek() === 1, "c == 1", 10)
              if (left > 0) yield* saw.set(true)
            })
          )
          yield* kernel.spawn(
            "t2",
            Effect.gen(function* () {
              const nop = kernel.point<void>({ name: "nop", label: "nop", footprint: [], apply: () => undefined })
              yield* nop
              yield* c.set(1)
              yield* nop
              yield* c.set(0)
            })
          )
        })
      )
      const reference = dfs(s, 20_000)
      assert.deepStrictEqual(signatures(reference), ["invariant:never-sees-1"])
      const reduced = dpor(s)
      assert.deepStrictEqual(signatures(reduced), signatures(reference))
    })
  )

  it.effect("every classic example: the same findings as unbounded DFS, in no more executions", () =>
    Effect.sync(() => {
      for (const s of classic.scenarios) {
        for (const variant of ["buggy", "fixed"]) {
          const sc = classic.scenario(s.name, variant)
          const reference = dfs(sc, 20_000)
          const reduced = dpor(sc)
          const what = `${s.name}/${variant}`
          assert.strictEqual(reference.stopped, "exhausted", what)
          assert.isTrue(classesOf(reduced).exhausted, what)
          assert.deepStrictEqual(signatures(reduced), signatures(reference), what)
          assert.isAtMost(reduced.runs, reference.runs, what)
        }
      }
    })
  )

  it.effect(
    "generated programs (locks, trylocks, atomics, cmpxchg loops, cells, workqueues, timeouts, choices): same terminal states and findings as unbounded DFS",
    () =>
      Effect.sync(() => {
        const r = againstDfs(100, (seed) => program(seed), 600)
        assert.isAtLeast(r.texts.length, 30)
        assert.isBelow(r.reducedRuns, r.referenceRuns / 4)
      })
  )

  it.effect(
    "generated programs with RCU (sections, synchronize_rcu, kfree_rcu, call_rcu, kept pointers), refcounts and ww_mutex back-off: same terminal states and findings as unbounded DFS",
    () =>
      Effect.sync(() => {
        const r = againstDfs(60, (seed) => program(seed, { extended: true }), 2000, { only: /rcu|"ref"|"ww"/, noMoreRuns: true })
        assert.isAtLeast(r.texts.length, 25)
        // RCU's footprints are the subtle ones (readers commute with each other, not with a grace
        // period's start); programs with findings are compared in rcu.test.ts.
        assert.isAtLeast(r.texts.filter((t) => t.includes('"rcu')).length, 12)
      })
  )

  it.effect(
    "generated programs with retry loops (devl_trylock + cond_resched, trylock + timed wait, wait for a flag): same terminal states and findings as unbounded DFS",
    () =>
      Effect.sync(() => {
        // The engine's fairness and yield rules make candidate sets depend on the order of past
        // steps around spinning tasks; these programs check the strategy's fallback there, and
        // that a failed cmpxchg or trylock outside a loop does not count as history.
        const r = againstDfs(100, (seed) => program(seed, { spin: true }), 3000, { noMoreRuns: true })
        assert.isAtLeast(r.texts.length, 35)
        assert.isAtLeast(r.texts.filter((t) => t.includes('"spin')).length, 28)
      })
  )

  /**
   * esw_wq_handler's loop (patch 4): `while (true) { if (read(G) != 0) return stale; if
   * (trylock(M)) break; cond_resched(); }` against a holder of M that does `steps` steps on a
   * private atomic, bumps G, and unlocks.
   */
  const staleWorker = (steps: number) =>
    scenario(
      "stale-worker",
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const m = yield* Mutex.make("M")
        const g = yield* Atomic.make("G", 0)
        const u = yield* Atomic.make("U", 0)
        const fate = yield* Cell.make("fate", "", { ghost: true })
        kernel.invariant({
          name: "fate",
          description: "records the worker's fate",
          when: "eventual",
          check: () => fate.peek() !== "" || "none"
        })
        yield* kernel.spawn(
          "holder",
          Effect.gen(function* () {
            yield* m.lock
            for (let i = 0; i < steps; i++) yield* Atomic.inc(u)
            yield* Atomic.inc(g)
            yield* m.unlock
          })
        )
        yield* kernel.spawn(
          "worker",
          kernel.call(
            "wq",
            "esw_wq_handler",
            Effect.gen(function* () {
              while (true) {
                if ((yield* g.read) !== 0) return yield* fate.set("stale")
                if (yield* m.trylock) break
                yield* Sched.condResched
              }
              yield* fate.set("ran")
              yield* m.unlock
            })
          )
        )
      })
    )

  it.effect("spin-assume: a spinner that went round once reading only waits until a key it read is written, any of them", () =>
    Effect.sync(() => {
      // Candidates at every point of one run that lets the holder take M first, then the worker go
      // round, then the holder on: the worker must not be offered after the holder's writes of U
      // (it never read U), and must be offered again once G (read before its trylock) is written.
      const seen: Array<string> = []
      let last = "-"
      const chooser: Chooser = {
        pick: (point) => {
          const names = point.candidates.map((c) => c.task)
          seen.push(`${last} -> ${names.join(",")}`)
          const holder = point.candidates.findIndex((c) => c.task === "holder")
          const worker = point.candidates.findIndex((c) => c.task === "worker")
          // The holder up to its lock, then the worker while it can run, then the holder.
          const k = holder >= 0 && (point.candidates[holder]!.op !== "atomic_inc(U)" || worker < 0) ? holder : worker >= 0 ? worker : 0
          last = `${point.candidates[k]!.task}:${point.candidates[k]!.op}`
          return k
        },
        choose: () => 0
      }
      const run = Explorer.runOnce(staleWorker(2).program, chooser, { maxSteps: 200, livelockBound: 400, spinAssume: true })
      assert.strictEqual(run.outcome._tag, "Finished")
      assert.deepStrictEqual(run.schedule.spinAssume, true)
      assert.deepStrictEqual(seen, [
        "- -> setup",
        "setup:start -> holder,worker",
        "holder:start -> holder,worker",
        "holder:mutex_lock(M) -> holder,worker",
        "worker:start -> holder,worker",
        "worker:atomic_read(G) -> holder,worker",
        "worker:mutex_trylock(M) -> holder,worker",
        "worker:cond_resched() -> holder,worker",
        // Once round (trylock failed, cond_resched, read G) and back at its trylock: it waits.
        "worker:atomic_read(G) -> holder",
        // U: the worker never read it.
        "holder:atomic_inc(U) -> holder",
        "holder:atomic_inc(U) -> holder",
        // G: read in its iteration (before the trylock), so it goes round again.
        "holder:atomic_inc(G) -> holder,worker",
        "holder:mutex_unlock(M) -> worker",
        "worker:mutex_trylock(M) -> worker"
      ])
    })
  )

  it.effect(
    "spin-assume: a worker spinning on a trylock while the holder runs takes a few classes, not every interleaving of its iterations",
    () =>
      Effect.sync(() => {
        for (const steps of [2, 6]) {
          const reduced = dpor(staleWorker(steps))
          assert.isTrue(classesOf(reduced).exhausted)
          assert.deepStrictEqual(signatures(reduced), signatures(dfs(staleWorker(steps), 50_000)))
          // Where the worker first reads G and tries M among the holder's steps: linear in steps.
          assert.isAtMost(reduced.runs, 4 * steps + 8, `${steps} steps: ${reduced.runs} runs`)
        }
      })
  )

  it.effect("spin-assume: a spinner no one will ever wake is still a livelock after the bound (same finding as without)", () =>
    Effect.sync(() => {
      // The holder takes M and then spins on its own trylock of M: everyone else is done, so the
      // waiting spinner is let go and retries until the livelock bound, as without spin-assume.
      const s = scenario(
        "self-spin",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("M")
          const g = yield* Atomic.make("G", 0)
          yield* kernel.spawn("other", Effect.asVoid(Atomic.inc(g)))
          yield* kernel.spawn(
            "spinner",
            kernel.call(
              "t",
              "spin",
              Effect.gen(function* () {
                yield* m.lock
                while (!(yield* m.trylock)) {
                  yield* g.read
                  yield* Sched.condResched
                }
              })
            )
          )
        })
      )
      const reduced = dpor(s)
      const reference = dfs(s, 20_000)
      assert.deepStrictEqual(signatures(reduced), signatures(reference))
      assert.deepStrictEqual(
        reduced.counterexamples.map((c) => c.finding.summary),
        [...new Set(reference.counterexamples.map((c) => c.finding.summary))]
      )
      assert.match(reduced.counterexamples[0]!.finding.summary, /^livelock: spinner retries .* with no progress for 400 steps$/)
    })
  )

  // Two tasks each raise and lower their own flag; a safety invariant forbids both raised.
  // The steps commute, but the invariant sees the states in between: DPOR must keep them ordered.
  const flags = (checked: boolean | "eventual") =>
    scenario(
      "flags",
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const x = yield* Atomic.make("x", 0)
        const y = yield* Atomic.make("y", 0)
        for (const [name, flag] of [
          ["t0", x],
          ["t1", y]
        ] as const) {
          yield* kernel.spawn(name, Effect.andThen(flag.set(1), flag.set(0)))
        }
        if (checked === true) {
          kernel.invariant({
            name: "not-both",
            description: "x and y are never both raised",
            when: "safety",
            check: () => !(x.peek() === 1 && y.peek() === 1) || "both raised"
          })
        }
        if (checked === "eventual") {
          kernel.invariant({
            name: "both-lowered",
            description: "at quiescence x and y are lowered",
            when: "eventual",
            check: () => (x.peek() === 0 && y.peek() === 0) || "a flag stays raised"
          })
        }
      })
    )

  it.effect("writes to what a safety invariant reads are dependent (intermediate states are not preserved by equivalence)", () =>
    Effect.sync(() => {
      assert.strictEqual(dpor(flags(false)).runs, 1)
      const checked = dpor(flags(true))
      assert.deepStrictEqual(signatures(checked), ["invariant:not-both"])
    })
  )

  it.effect(
    "what an eventual invariant reads adds no dependency (checked once, on the final state every execution of a class reaches)",
    () =>
      Effect.sync(() => {
        const report = dpor(flags("eventual"))
        assert.strictEqual(report.runs, 1)
        assert.isTrue(classesOf(report).exhausted)
        assert.deepStrictEqual(signatures(report), signatures(dfs(flags("eventual"), 1000)))
      })
  )

  it.effect("two independent races: both are reported (a finding ends a run; the order decides which comes first)", () =>
    Effect.sync(() => {
      const s = scenario(
        "two-races",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          for (const key of ["C0", "C1"]) {
            const cell = yield* Cell.make(key, 0)
            for (const t of ["a", "b"]) yield* kernel.spawn(`${key}-${t}`, kernel.call("m", `${key}_${t}`, cell.set(1)))
          }
        })
      )
      const reduced = dpor(s)
      assert.deepStrictEqual(signatures(reduced), signatures(dfs(s, 20_000)))
      assert.strictEqual(signatures(reduced).length, 2)
    })
  )

  it.effect("a run cut by the step bound makes the search not exhaustive", () =>
    Effect.sync(() => {
      const report = dpor(family(3), { maxSteps: 6 })
      const c = classesOf(report)
      assert.isFalse(c.exhausted)
      assert.isAbove(c.truncatedRuns, 0)
    })
  )

  it.effect("bounded DPOR: a preemption bound that cuts a branch is not exhaustive", () =>
    Effect.sync(() => {
      const bounded = dpor(family(4), { bounded: true, preemptions: 0 })
      assert.isFalse(classesOf(bounded).exhausted)
      assert.isBelow(bounded.runs, 24)
      assert.strictEqual(classesOf(bounded).preemptionBound, 0)
    })
  )
})
