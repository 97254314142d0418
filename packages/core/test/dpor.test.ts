import { Atomic, Cell, type Chooser, Completion, Explorer, Finding, Kernel, Mutex, Sched, WaitQueue } from "@drvmodel/core"
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
/**
 * Unbounded DFS with the engine's spin-assume on, as in DPOR runs (`Explorer.explore` runs DFS
 * without it): the same semantics as DPOR, unreduced. Finding signatures, runs, and whether it
 * exhausted within `budget` runs.
 */
const dfsSpinAssume = (s: Explorer.Scenario, budget: number) => {
  const o = Explorer.options({ strategy: "dfs", preemptions: 1000 })
  const strategy = Effect.runSync(Explorer.strategyFor(o))
  const found = new Set<string>()
  for (let runs = 0; runs < budget; runs++) {
    const chooser = strategy.next()
    if (chooser === undefined) return { signatures: [...found].sort(), runs, exhausted: true }
    const r = Explorer.runOnce(s.program, chooser, {
      maxSteps: o.maxSteps,
      livelockBound: o.livelockBound,
      spinAssume: true,
      recordTrace: false
    })
    strategy.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
    if (r.outcome._tag === "Found") found.add(Finding.signatureOf(r.outcome.finding.problem))
  }
  return { signatures: [...found].sort(), runs: budget, exhausted: strategy.next() === undefined }
}
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
  options: {
    readonly only?: RegExp
    readonly noMoreRuns?: boolean
    /**
     * Compare with unbounded DFS under spin-assume (`dfsSpinAssume`) for equality, and with plain
     * DFS for inclusion only: a retry loop exempt from the fairness rules (it writes nothing) may
     * take two steps in a row where plain DFS's fairness rule puts another task between them —
     * e.g. the merged worker preparing to wait right after its failed trylock — which reaches
     * real states plain DFS does not (a wake that comes late); none that plain DFS reaches is lost.
     */
    readonly spinAssumeReference?: boolean
  } = {}
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
    if (options.spinAssumeReference === true) {
      const c = make(seed)
      const same = dfsSpinAssume(c.scenario, 4 * budget)
      if (!same.exhausted) continue
      assert.deepStrictEqual([...b.terminal].sort(), [...c.terminal].sort(), what)
      assert.deepStrictEqual(signatures(reduced), same.signatures, what)
      assert.includeMembers([...b.terminal], [...a.terminal], what)
      assert.includeMembers(signatures(reduced), signatures(reference), what)
    } else {
      assert.deepStrictEqual([...b.terminal].sort(), [...a.terminal].sort(), what)
      assert.deepStrictEqual(signatures(reduced), signatures(reference), what)
    }
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

  it.effect(
    "generated programs with a wait queue (the merged worker's trylock + wait_event_timeout loop, bumps with wake_up_all, bare wakes, timed waits): the terminal states and findings of unbounded DFS under spin-assume, and every one of plain DFS",
    () =>
      Effect.sync(() => {
        // The wait queue's footprints (a waiter's steps read the queue, wake_up_all writes it) and
        // spin-assume over iterations that wait on the queue and leave it again, or time out.
        const r = againstDfs(100, (seed) => program(seed, { waitq: true }), 1500, { noMoreRuns: true, spinAssumeReference: true })
        assert.isAtLeast(r.texts.length, 25)
        assert.isAtLeast(r.texts.filter((t) => /"wqInvalidate"|"wqWake"/.test(t)).length, 18)
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

  /**
   * The merged esw_wq_handler: `while (true) { if (read(G) != 0) return stale; if (trylock(M))
   * break; wait_event_timeout(Q, G != 0, 60); }` against a holder of M that does `steps` steps
   * on a private atomic, then mlx5_eswitch_invalidate_wq (bump G, wake_up_all(Q)), and unlocks;
   * beside them a third task does `steps` steps on its own atomic.
   */
  const mergedWorker = (steps: number) =>
    scenario(
      "merged-worker",
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const m = yield* Mutex.make("M")
        const g = yield* Atomic.make("G", 0)
        const u = yield* Atomic.make("U", 0)
        const q = yield* WaitQueue.make("Q")
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
            yield* q.wakeUpAll
            yield* m.unlock
          })
        )
        const v = yield* Atomic.make("V", 0)
        yield* kernel.spawn(
          "other",
          Effect.gen(function* () {
            for (let i = 0; i < steps; i++) yield* Atomic.inc(v)
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
                yield* q.waitEventTimeout(() => g.peek() !== 0, "G != 0", 60)
              }
              yield* fate.set("ran")
              yield* m.unlock
            })
          )
        )
      })
    )

  it.effect("spin-assume: the merged worker waiting on a wait queue while the holder runs takes a few classes (waiting is no write)", () =>
    Effect.sync(() => {
      // When joining the queue was a write, the worker's streak stayed under the fairness rule,
      // every point it could run at was historic and the prefixes of its runs were explored as
      // DFS does: 228 and 3,439 executions here.
      for (const steps of [2, 6]) {
        const reduced = dpor(mergedWorker(steps))
        assert.isTrue(classesOf(reduced).exhausted)
        if (steps === 2) assert.deepStrictEqual(signatures(reduced), signatures(dfs(mergedWorker(steps), 50_000)))
        assert.isAtMost(reduced.runs, 4 * steps + 8, `${steps} steps: ${reduced.runs} runs`)
      }
    })
  )

  /** Terminal states (each task's log) of every run of `make()` under unbounded DFS and under DPOR. */
  const logsOf = (make: (seen: Set<string>) => Explorer.Scenario) => {
    const reference = new Set<string>()
    dfs(make(reference), 20_000)
    const reduced = new Set<string>()
    const r = dpor(make(reduced))
    assert.isTrue(classesOf(r).exhausted)
    return { reference: [...reference].sort(), reduced: [...reduced].sort() }
  }

  it.effect("wait queue: a wake that comes before the waiter joins, or before the condition holds, wakes no one", () =>
    Effect.sync(() => {
      // Two waiters for A != 0 (5 ms and 3 ms), a task that sets A without waking anyone, one
      // that only wakes the queue. A waiter sees A at once, is woken after the store, or sleeps
      // until its timeout — whichever order the store, the wake and the waiters' steps take.
      // Each waiter's steps must be dependent with the wake (both ways: joining before or after
      // it, re-checking before or after it) and not with the other waiter's.
      const { reference, reduced } = logsOf((seen) =>
        scenario(
          "late-wake",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const q = yield* WaitQueue.make("Q")
            const a = yield* Atomic.make("A", 0)
            const log: Array<string> = []
            const tasks = [
              yield* kernel.spawn(
                "w0",
                Effect.gen(function* () {
                  log.push(`w0=${yield* q.waitEventTimeout(() => a.peek() !== 0, "A != 0", 5)}`)
                })
              ),
              yield* kernel.spawn(
                "w1",
                Effect.gen(function* () {
                  log.push(`w1=${yield* q.waitEventTimeout(() => a.peek() !== 0, "A != 0", 3)}`)
                })
              ),
              yield* kernel.spawn("setter", a.set(1)),
              yield* kernel.spawn("waker", q.wakeUpAll)
            ]
            for (const t of tasks) yield* kernel.join(t)
            seen.add(log.sort().join(","))
          })
        )
      )
      assert.includeMembers(reference, ["w0=5,w1=3", "w0=1,w1=1"])
      assert.deepStrictEqual(reduced, reference)
    })
  )

  it.effect("time passes while only spinners can run, and a failed cmpxchg used as a test is no spin", () =>
    Effect.sync(() => {
      // t0 waits 2 ms for X. t1 fails a cmpxchg (a test), takes M, sleeps 1 ms and completes X:
      // t1 never spins, so time passes only once it sleeps, and t0 is always woken. When every
      // task in a retry streak counted as spinning, time jumped to t0's timeout right after
      // t1's failed cmpxchg if t0 was already waiting, and not if t1 took M first: an order of
      // two independent steps, which DPOR explored only one way (it missed "w=1").
      const { reference, reduced } = logsOf((seen) =>
        scenario(
          "cmpxchg-test",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const m = yield* Mutex.make("M")
            const a = yield* Atomic.make("A", 0)
            const x = yield* Completion.make("X")
            const log: Array<string> = []
            const t0 = yield* kernel.spawn(
              "t0",
              Effect.gen(function* () {
                log.push(`w=${yield* x.waitTimeout(2)}`)
              })
            )
            const t1 = yield* kernel.spawn(
              "t1",
              Effect.gen(function* () {
                log.push(`cx=${yield* a.cmpxchg(1, 2)}`)
                if (yield* m.trylock) {
                  yield* Sched.msleep(1)
                  yield* m.unlock
                }
                yield* x.complete
              })
            )
            yield* kernel.join(t0)
            yield* kernel.join(t1)
            seen.add(log.sort().join(","))
          })
        )
      )
      assert.deepStrictEqual(reduced, reference)
      assert.deepStrictEqual(reference, ["cx=0,w=1"])
    })
  )

  it.effect("spin-assume: time passes while only a spinner exempt from the fairness rules can run, as without spin-assume", () =>
    Effect.sync(() => {
      // The holder drops M and waits 5 ms for X; the worker spins on M (devl_trylock +
      // cond_resched), then completes X. While the holder waits and the worker spins, time may
      // pass: the holder times out (w=0), is completed at its timeout (w=1) or before (w=5).
      // The worker's read-only loop is exempt from the fairness rules under spin-assume; were
      // it kept from letting time pass too, DPOR would reach only w=5.
      const { reference, reduced } = logsOf((seen) =>
        scenario(
          "spinner-and-timeout",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const m = yield* Mutex.make("M")
            const x = yield* Completion.make("X")
            const log: Array<string> = []
            yield* m.lock
            const holder = yield* kernel.spawn(
              "holder",
              Effect.gen(function* () {
                yield* Sched.condResched
                log.push(`w=${yield* x.waitTimeout(5)}`)
              })
            )
            const worker = yield* kernel.spawn(
              "worker",
              kernel.call(
                "t",
                "worker",
                Effect.gen(function* () {
                  while (!(yield* m.trylock)) yield* Sched.condResched
                  yield* x.complete
                  yield* m.unlock
                })
              )
            )
            yield* m.unlock
            yield* kernel.join(holder)
            yield* kernel.join(worker)
            seen.add(log.join(","))
          })
        )
      )
      assert.deepStrictEqual(reduced, reference)
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
