import { Completion, Explorer, Finding, Kernel, LockOrder, type Scenario, WwMutex } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

const explore = (s: Scenario, strategy: "dfs" | "dpor" = "dfs") => {
  const report = Effect.runSync(
    Explorer.explore(s, Explorer.options({ strategy, preemptions: 1000, schedules: 100_000, maxFindings: 100 }))
  )
  assert.strictEqual(report.stopped, "exhausted", s.name)
  return report
}
const summaries = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => c.finding.summary))].sort()

/**
 * Takes every lock of `objs` under `ctx`, backing off on -EDEADLK as
 * Documentation/locking/ww-mutex-design.rst shows (release all, sleep on the contended lock
 * with ww_mutex_lock_slow, retry the others), then releases them. `misuse`: on -EDEADLK keep
 * what is held and sleep on the contended lock anyway.
 */
const lockAll = (cls: WwMutex.WwClass, name: string, objs: ReadonlyArray<WwMutex.WwMutex>, misuse = false) =>
  Effect.gen(function* () {
    const ctx = yield* cls.acquireInit(name)
    let contended: WwMutex.WwMutex | undefined
    const taken: Array<WwMutex.WwMutex> = []
    retry: while (true) {
      for (const o of objs) {
        if (o === contended) continue
        const ret = yield* o.lock(ctx)
        if (ret === 0) {
          taken.push(o)
          continue
        }
        if (misuse) {
          yield* o.lockSlow(ctx)
          taken.push(o)
          continue
        }
        for (const t of taken.splice(0)) yield* t.unlock
        yield* o.lockSlow(ctx)
        taken.push(o)
        contended = o
        continue retry
      }
      break
    }
    yield* ctx.done
    for (const t of taken.splice(0)) yield* t.unlock
    yield* ctx.fini
  })

type Algorithm = "wait-die" | "wound-wait"
const classOf = (algorithm: Algorithm, name: string) => (algorithm === "wait-die" ? WwMutex.wdClass(name) : WwMutex.wwClass(name))

/** Two tasks take {A, B} in opposite orders, each under its own context. */
const twoContexts = (misuse: boolean, algorithm: Algorithm = "wait-die") =>
  scenario(
    `two-contexts${misuse ? "-misuse" : ""}-${algorithm}`,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const cls = yield* classOf(algorithm, "test_ww_class")
      const a = yield* cls.mutex("A")
      const b = yield* cls.mutex("B")
      yield* kernel.spawn("t1", kernel.call("test", "lock_ab", lockAll(cls, "ctx1", [a, b], misuse)))
      yield* kernel.spawn("t2", kernel.call("test", "lock_ba", lockAll(cls, "ctx2", [b, a], misuse)))
    })
  )

describe("ww_mutex (wait-die)", () => {
  it.effect("two contexts, two locks in opposite orders: the younger backs off, both finish in every interleaving", () =>
    Effect.sync(() => {
      const report = explore(twoContexts(false))
      assert.deepStrictEqual(summaries(report), [])
      assert.isAbove(report.runs, 10)
    })
  )

  it.effect("the same without backing off (keeping the lock on -EDEADLK): reported", () =>
    Effect.sync(() => {
      const found = summaries(explore(twoContexts(true)))
      // ww_mutex_lock_slow keeps dying while the older context holds the lock: the kernel's
      // debug check fires (whichever task initialised its context first is the older).
      assert.deepStrictEqual(found, [
        "t1: WARNING: DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock): ctx1 got -EDEADLK on B before backing off from B",
        "t2: WARNING: DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock): ctx2 got -EDEADLK on A before backing off from A"
      ])
    })
  )

  it.effect("a context that holds nothing waits for an older one instead of dying; one that holds a lock dies", () =>
    Effect.sync(() => {
      const results: Array<string> = []
      const s = (holdFirst: boolean) =>
        scenario(
          "wait-or-die",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const cls = yield* WwMutex.wdClass("test_ww_class")
            const a = yield* cls.mutex("A")
            const b = yield* cls.mutex("B")
            const held = yield* Completion.make("held")
            const old = yield* cls.acquireInit("old")
            yield* a.lock(old)
            yield* kernel.spawn(
              "young",
              Effect.gen(function* () {
                const ctx = yield* cls.acquireInit("young")
                if (holdFirst) yield* b.lock(ctx)
                yield* held.complete
                const ret = yield* a.lock(ctx)
                results.push(`${holdFirst ? "holding B" : "holding nothing"}: ${ret}`)
                if (ret === 0) yield* a.unlock
                if (holdFirst) yield* b.unlock
                yield* ctx.fini
              })
            )
            yield* held.wait
            yield* a.unlock
            yield* old.fini
          })
        )
      assert.deepStrictEqual(summaries(explore(s(false))), [])
      assert.deepStrictEqual(summaries(explore(s(true))), [])
      assert.deepStrictEqual([...new Set(results)].sort(), ["holding B: -35", "holding B: 0", "holding nothing: 0"])
    })
  )

  it.effect("without contexts (plain ww_mutex_lock(lock, NULL)) the opposite orders deadlock", () =>
    Effect.sync(() => {
      const s = scenario(
        "no-context",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const cls = yield* WwMutex.wdClass("test_ww_class")
          const a = yield* cls.mutex("A")
          const b = yield* cls.mutex("B")
          const both = (x: WwMutex.WwMutex, y: WwMutex.WwMutex) =>
            Effect.gen(function* () {
              yield* x.lock()
              yield* y.lock()
              yield* y.unlock
              yield* x.unlock
            })
          yield* kernel.spawn("t1", both(a, b))
          yield* kernel.spawn("t2", both(b, a))
        })
      )
      const found = explore(s).counterexamples.map((c) => Finding.kindOf(c.finding.problem))
      assert.deepStrictEqual(found, ["deadlock"])
    })
  )

  it.effect("wound-wait: the same two contexts make progress in every interleaving", () =>
    Effect.sync(() => {
      const report = explore(twoContexts(false, "wound-wait"))
      assert.deepStrictEqual(summaries(report), [])
      assert.isAbove(report.runs, 10)
    })
  )

  it.effect("a younger context holding a lock: wait-die makes it die on the older's lock, wound-wait makes it wait", () =>
    Effect.sync(() => {
      const results = (algorithm: Algorithm) => {
        const seen = new Set<number>()
        const s = scenario(
          "young-waits",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const cls = yield* classOf(algorithm, "test_ww_class")
            const a = yield* cls.mutex("A")
            const b = yield* cls.mutex("B")
            const ready = yield* Completion.make("old-ready")
            yield* kernel.spawn(
              "old",
              Effect.gen(function* () {
                const ctx = yield* cls.acquireInit("old")
                yield* a.lock(ctx)
                yield* ready.complete
                yield* a.unlock
                yield* ctx.fini
              })
            )
            yield* kernel.spawn(
              "young",
              Effect.gen(function* () {
                yield* ready.wait
                const ctx = yield* cls.acquireInit("young")
                yield* b.lock(ctx)
                const ret = yield* a.lock(ctx)
                seen.add(ret)
                if (ret === 0) yield* a.unlock
                yield* b.unlock
                yield* ctx.fini
              })
            )
          })
        )
        assert.deepStrictEqual(summaries(explore(s)), [], algorithm)
        return [...seen].sort()
      }
      assert.deepStrictEqual(results("wait-die"), [WwMutex.EDEADLK, 0])
      assert.deepStrictEqual(results("wound-wait"), [0])
    })
  )

  it.effect("wound-wait: an older context wounds the younger holder, which dies even while it waits for another lock", () =>
    Effect.sync(() => {
      const run = (algorithm: Algorithm) => {
        const seen = new Set<number>()
        const s = scenario(
          "wound",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const cls = yield* classOf(algorithm, "test_ww_class")
            const a = yield* cls.mutex("A")
            const b = yield* cls.mutex("B")
            const c = yield* cls.mutex("C")
            const oldReady = yield* Completion.make("old-ready")
            const cHeld = yield* Completion.make("c-held")
            const youngHasB = yield* Completion.make("young-has-b")
            const go = yield* Completion.make("go")
            // C's holder takes it without a context and keeps it until the old context has B.
            yield* kernel.spawn(
              "holder",
              Effect.gen(function* () {
                yield* c.lock()
                yield* cHeld.complete
                yield* go.wait
                yield* c.unlock
              })
            )
            yield* kernel.spawn(
              "old",
              Effect.gen(function* () {
                const ctx = yield* cls.acquireInit("old")
                yield* a.lock(ctx)
                yield* oldReady.complete
                yield* youngHasB.wait
                if ((yield* b.lock(ctx)) === 0) {
                  yield* go.complete
                  yield* b.unlock
                }
                yield* a.unlock
                yield* ctx.fini
              })
            )
            yield* kernel.spawn(
              "young",
              Effect.gen(function* () {
                yield* oldReady.wait
                yield* cHeld.wait
                const ctx = yield* cls.acquireInit("young")
                yield* b.lock(ctx)
                yield* youngHasB.complete
                const ret = yield* c.lock(ctx)
                seen.add(ret)
                if (ret === 0) yield* c.unlock
                yield* b.unlock
                yield* ctx.fini
              })
            )
          })
        )
        // Four tasks: too many interleavings for plain DFS; DPOR covers every class of them.
        return { found: explore(s, "dpor").counterexamples.map((x) => Finding.kindOf(x.finding.problem)), seen: [...seen] }
      }
      assert.deepStrictEqual(run("wound-wait"), { found: [], seen: [WwMutex.EDEADLK] })
      // Wait-die lets the older context wait for the younger, which waits for C: stuck.
      assert.deepStrictEqual(run("wait-die").found, ["deadlock"])
    })
  )

  /**
   * The younger context takes a lock the older one waits for (after its context-less holder lets
   * it go): the older waiter wounds the new holder, which then dies on the older's lock.
   */
  const newHolder = scenario(
    "new-holder",
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const cls = yield* WwMutex.wwClass("test_ww_class")
      const x = yield* cls.mutex("X")
      const l = yield* cls.mutex("L")
      const oldReady = yield* Completion.make("old-ready")
      yield* l.lock()
      yield* kernel.spawn(
        "old",
        Effect.gen(function* () {
          const ctx = yield* cls.acquireInit("old")
          yield* x.lock(ctx)
          yield* oldReady.complete
          if ((yield* l.lock(ctx)) === 0) yield* l.unlock
          yield* x.unlock
          yield* ctx.fini
        })
      )
      yield* kernel.spawn(
        "young",
        Effect.gen(function* () {
          yield* oldReady.wait
          const ctx = yield* cls.acquireInit("young")
          yield* l.lock(ctx) // holding nothing, it waits (never dies)
          if ((yield* x.lock(ctx)) === 0) yield* x.unlock
          yield* l.unlock
          yield* ctx.fini
        })
      )
      yield* l.unlock
    })
  )

  it.effect("wound-wait: an older waiter wounds the context that takes the lock before it", () =>
    Effect.sync(() => {
      const reference = explore(newHolder, "dfs")
      assert.deepStrictEqual(summaries(reference), [])
      assert.deepStrictEqual(summaries(explore(newHolder, "dpor")), [])
    })
  )

  it.effect("DPOR: the same findings as unbounded DFS, in no more executions", () =>
    Effect.sync(() => {
      const reference = explore(twoContexts(false, "wound-wait"), "dfs")
      const reduced = explore(twoContexts(false, "wound-wait"), "dpor")
      assert.strictEqual(reduced.counterexamples.length, reference.counterexamples.length)
      assert.isAtMost(reduced.runs, reference.runs)
      for (const misuse of [false, true]) {
        const reference = explore(twoContexts(misuse), "dfs")
        const reduced = explore(twoContexts(misuse), "dpor")
        const sig = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => Finding.signatureOf(c.finding.problem)))].sort()
        assert.deepStrictEqual(sig(reduced), sig(reference), `misuse=${misuse}`)
        assert.isAtMost(reduced.runs, reference.runs)
      }
    })
  )
})

/**
 * lib/locking-selftest.c's ww_mutex cases (ww_tests()), with their expected verdicts:
 * SUCCESS = nothing reported, FAILURE = a WARN (the explorer) or lockdep's report (the
 * lock-order analysis). Where the C fakes another context holding a lock (`o2.ctx = &t2` with an
 * older stamp), a second task with an older context holds it. Not ported: the cases that need
 * spinlocks (spin_*, spin_nest_unlocked), or write lockdep's or the mutex's internals directly
 * (normal, diff_class, object_lock_unbalanced, object_lock_stale_context).
 */
describe("lib/locking-selftest.c: ww_tests()", () => {
  type Objs = { readonly cls: WwMutex.WwClass; readonly o: WwMutex.WwMutex; readonly o2: WwMutex.WwMutex; readonly o3: WwMutex.WwMutex }
  /** The test body as task `t`; `older`: locks an older context holds before `t` starts (t2 in the C). */
  const selftest = (
    name: string,
    body: (x: Objs, held: { readonly release: Effect.Effect<void> }) => Effect.Effect<void, never, Kernel>,
    older: ReadonlyArray<"o2" | "o3"> = []
  ) =>
    scenario(
      name,
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const cls = yield* WwMutex.wdClass("ww_lockdep")
        const x: Objs = { cls, o: yield* cls.mutex("o"), o2: yield* cls.mutex("o2"), o3: yield* cls.mutex("o3") }
        const ready = yield* Completion.make("ready")
        const release = yield* Completion.make("release")
        if (older.length > 0) {
          yield* kernel.spawn(
            "t2",
            Effect.gen(function* () {
              const ctx = yield* cls.acquireInit("t2")
              for (const k of older) yield* x[k].lock(ctx)
              yield* ready.complete
              yield* release.wait
              for (const k of older) yield* x[k].unlock
              yield* ctx.fini
            })
          )
        }
        yield* kernel.spawn(
          "t",
          // The older context lets its locks go when the test is over (or when the test says).
          kernel.call(
            "selftest",
            name,
            Effect.andThen(
              Effect.andThen(older.length > 0 ? ready.wait : Effect.void, body(x, { release: release.complete })),
              release.complete
            )
          )
        )
      })
    )
  const expect = (ret: number, want: number, what: string) =>
    ret === want ? Effect.void : Effect.flatMap(Kernel, (k) => k.warn(`WARN_ON: ${what} returned ${ret}, expected ${want}`))

  /**
   * The explorer's verdict: "SUCCESS" when no run finds anything, "FAILURE" when what it finds is
   * the test task's WARNs (debug checks, lockdep); anything else is shown as it is.
   */
  const verdict = (s: Scenario) => {
    const found = summaries(explore(s))
    if (found.length === 0) return "SUCCESS"
    return found.every((f) => f.startsWith("t: WARNING: ")) ? "FAILURE" : found.join("; ")
  }
  /** Lockdep's verdict on one run: "FAILURE" on a cycle (recursive locking included). */
  const lockdep = (s: Scenario) => (Effect.runSync(LockOrder.analyzeOnce(s)).cycles.length === 0 ? "SUCCESS" : "FAILURE")

  const api: Record<string, readonly [ReturnType<typeof selftest>, "SUCCESS" | "FAILURE"]> = {
    fail_acquire: [
      selftest("ww_test_fail_acquire", ({ cls, o, o2 }) =>
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const t = yield* cls.acquireInit("t")
          yield* expect(yield* o.lock(t), 0, "WWL(&o, &t)")
          yield* expect(yield* o.lock(t), WwMutex.EALREADY, "WWL(&o, &t) again")
          yield* expect((yield* o.trylock()) ? 1 : 0, 0, "WWT(&o)")
          // A younger context that holds a lock gets -EDEADLK on o (t2 = t; t2.stamp++).
          const done = yield* Completion.make("t2-done")
          yield* kernel.spawn(
            "t2",
            Effect.gen(function* () {
              const t2 = yield* cls.acquireInit("t2")
              yield* expect(yield* o2.lock(t2), 0, "WWL(&o2, &t2)")
              yield* expect(yield* o.lock(t2), WwMutex.EDEADLK, "WWL(&o, &t2)")
              yield* o2.unlock
              yield* t2.fini
              yield* done.complete
            })
          )
          yield* done.wait
          yield* o.unlock
          if (yield* o.trylock()) yield* o.unlock
          yield* t.fini
        })
      ),
      "SUCCESS"
    ],
    unneeded_slow: [
      selftest("ww_test_unneeded_slow", ({ cls, o }) => Effect.flatMap(cls.acquireInit("t"), (t) => o.lockSlow(t))),
      "FAILURE"
    ],
    two_contexts: [selftest("ww_test_two_contexts", ({ cls }) => Effect.andThen(cls.acquireInit("t"), cls.acquireInit("t2"))), "FAILURE"],
    context_done_twice: [
      selftest("ww_test_context_done_twice", ({ cls }) =>
        Effect.flatMap(cls.acquireInit("t"), (t) => Effect.andThen(Effect.andThen(t.done, t.done), t.fini))
      ),
      "FAILURE"
    ],
    context_unlock_twice: [
      selftest("ww_test_context_unlock_twice", ({ cls }) =>
        Effect.flatMap(cls.acquireInit("t"), (t) => Effect.andThen(Effect.andThen(t.done, t.fini), t.fini))
      ),
      "FAILURE"
    ],
    context_fini_early: [
      selftest("ww_test_context_fini_early", ({ cls, o }) =>
        Effect.flatMap(cls.acquireInit("t"), (t) => Effect.andThen(Effect.andThen(o.lock(t), t.done), t.fini))
      ),
      "FAILURE"
    ],
    context_lock_after_done: [
      selftest("ww_test_context_lock_after_done", ({ cls, o }) =>
        Effect.flatMap(cls.acquireInit("t"), (t) => Effect.andThen(t.done, o.lock(t)))
      ),
      "FAILURE"
    ],
    object_unlock_twice: [
      selftest("ww_test_object_unlock_twice", ({ o }) => Effect.andThen(Effect.andThen(o.lock(), o.unlock), o.unlock)),
      "FAILURE"
    ]
  }

  /** The EDEADLK cases: t holds o, an older context holds o2 (and o3); t's WWL(&o2) gets -EDEADLK. */
  const edeadlk = (
    name: string,
    after: (x: Objs, t: WwMutex.AcquireCtx, release: Effect.Effect<void>) => Effect.Effect<void, never, Kernel>,
    older: ReadonlyArray<"o2" | "o3"> = ["o2"]
  ) =>
    selftest(
      name,
      (x, held) =>
        Effect.gen(function* () {
          const t = yield* x.cls.acquireInit("t")
          yield* expect(yield* x.o.lock(t), 0, "WWL(&o, &t)")
          yield* expect(yield* x.o2.lock(t), WwMutex.EDEADLK, "WWL(&o2, &t)")
          yield* after(x, t, held.release)
        }),
      older
    )
  const edeadlkCases: Record<string, readonly [Scenario, "SUCCESS" | "FAILURE"]> = {
    edeadlk_normal: [
      edeadlk("ww_test_edeadlk_normal", ({ o, o2 }, t, release) =>
        Effect.gen(function* () {
          yield* release
          yield* o.unlock
          yield* expect(yield* o2.lock(t), 0, "WWL(&o2, &t)")
          // The C leaves o2 locked for dotest()'s reset_locks(); a model task that ended holding it
          // would be lockdep's "lock held when returning to user space", so it lets it go here.
          yield* o2.unlock
          yield* t.fini
        })
      ),
      "SUCCESS"
    ],
    edeadlk_normal_slow: [
      edeadlk("ww_test_edeadlk_normal_slow", ({ o, o2 }, t, release) =>
        Effect.gen(function* () {
          yield* release
          yield* o.unlock
          yield* o2.lockSlow(t)
          // As in ww_test_edeadlk_normal: what reset_locks() would clear.
          yield* o2.unlock
          yield* t.fini
        })
      ),
      "SUCCESS"
    ],
    edeadlk_no_unlock: [
      edeadlk("ww_test_edeadlk_no_unlock", ({ o2 }, t, release) => Effect.andThen(release, Effect.asVoid(o2.lock(t)))),
      "FAILURE"
    ],
    edeadlk_no_unlock_slow: [
      edeadlk("ww_test_edeadlk_no_unlock_slow", ({ o2 }, t, release) => Effect.andThen(release, o2.lockSlow(t))),
      "FAILURE"
    ],
    edeadlk_acquire_more: [edeadlk("ww_test_edeadlk_acquire_more", ({ o3 }, t) => Effect.asVoid(o3.lock(t))), "FAILURE"],
    edeadlk_acquire_more_slow: [edeadlk("ww_test_edeadlk_acquire_more_slow", ({ o3 }, t) => o3.lockSlow(t)), "FAILURE"],
    edeadlk_acquire_more_edeadlk: [
      edeadlk(
        "ww_test_edeadlk_acquire_more_edeadlk",
        ({ o3 }, t) => Effect.flatMap(o3.lock(t), (ret) => expect(ret, WwMutex.EDEADLK, "WWL(&o3, &t)")),
        ["o2", "o3"]
      ),
      "FAILURE"
    ],
    edeadlk_acquire_more_edeadlk_slow: [
      edeadlk("ww_test_edeadlk_acquire_more_edeadlk_slow", ({ o3 }, t) => o3.lockSlow(t), ["o2", "o3"]),
      "FAILURE"
    ],
    edeadlk_acquire_wrong: [
      edeadlk("ww_test_edeadlk_acquire_wrong", ({ o, o3 }, t) => Effect.andThen(o.unlock, Effect.asVoid(o3.lock(t)))),
      "FAILURE"
    ],
    edeadlk_acquire_wrong_slow: [
      edeadlk("ww_test_edeadlk_acquire_wrong_slow", ({ o, o3 }, t) => Effect.andThen(o.unlock, o3.lockSlow(t))),
      "FAILURE"
    ]
  }

  /** block / try / context: lockdep's verdict on taking o then o2 (one context, one run). */
  type Way = "block" | "try" | "context"
  const matrix = (first: Way, second: Way) =>
    selftest(`ww_test_${first}_${second}`, ({ cls, o, o2 }) =>
      Effect.gen(function* () {
        let t: WwMutex.AcquireCtx | undefined
        const take = (x: WwMutex.WwMutex, way: Way) =>
          Effect.gen(function* () {
            if (way === "block") yield* x.lock()
            else if (way === "try") yield* x.trylock()
            else {
              t ??= yield* cls.acquireInit("t")
              yield* x.lock(t)
            }
          })
        yield* take(o, first)
        yield* take(o2, second)
        yield* o2.unlock
        yield* o.unlock
        if (t !== undefined) yield* t.fini
      })
    )
  const expected: ReadonlyArray<readonly [Way, Way, "SUCCESS" | "FAILURE"]> = [
    ["context", "block", "FAILURE"],
    ["context", "try", "SUCCESS"],
    ["context", "context", "SUCCESS"],
    ["try", "block", "FAILURE"],
    ["try", "try", "SUCCESS"],
    ["try", "context", "FAILURE"],
    ["block", "block", "FAILURE"],
    ["block", "try", "SUCCESS"],
    ["block", "context", "FAILURE"]
  ]

  it.effect("ww api failures, contexts mixing, finishing ww context, locking mismatches", () =>
    Effect.sync(() => {
      const got = Object.fromEntries(Object.entries(api).map(([k, [s]]) => [k, verdict(s)]))
      assert.deepStrictEqual(got, Object.fromEntries(Object.entries(api).map(([k, [, v]]) => [k, v])))
    })
  )

  it.effect("EDEADLK handling", () =>
    Effect.sync(() => {
      const got = Object.fromEntries(Object.entries(edeadlkCases).map(([k, [s]]) => [k, verdict(s)]))
      assert.deepStrictEqual(got, Object.fromEntries(Object.entries(edeadlkCases).map(([k, [, v]]) => [k, v])))
    })
  )

  it.effect("block / try / context (lockdep: recursive locking of the class unless under the context or a trylock)", () =>
    Effect.sync(() => {
      const got = expected.map(([a, b]) => [a, b, lockdep(matrix(a, b))])
      assert.deepStrictEqual(
        got,
        expected.map((e) => [...e])
      )
      // and the explorer finds nothing wrong with any of them (one task, every lock free)
      for (const [a, b] of expected) assert.strictEqual(verdict(matrix(a, b)), "SUCCESS", `${a}/${b}`)
    })
  )
})
