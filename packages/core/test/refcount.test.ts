import { Explorer, Finding, Kernel, Mutex, Refcount, type Scenario, Slab } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

const exhaust = (s: Scenario, strategy: "dfs" | "dpor" = "dfs") => {
  const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy, preemptions: 1000, schedules: 50_000, maxFindings: 100 })))
  assert.strictEqual(report.stopped, "exhausted", s.name)
  return { summaries: [...new Set(report.counterexamples.map((c) => c.finding.summary))].sort(), report }
}

/** One task running `body` inside `drv_fn`. */
const one = (body: Effect.Effect<void, never, Kernel>) =>
  exhaust(
    scenario(
      "one",
      Effect.gen(function* () {
        const kernel = yield* Kernel
        yield* kernel.spawn("t", kernel.call("drv", "drv_fn", body))
      })
    )
  ).summaries

describe("refcount_t", () => {
  it.effect("the kernel's WARNs: addition on 0, underflow, decrement hit 0", () =>
    Effect.sync(() => {
      const r = (initial: number, f: (r: Refcount.Refcount) => Effect.Effect<void>) => one(Effect.flatMap(Refcount.make("r", initial), f))
      assert.deepStrictEqual(
        r(0, (x) => x.inc),
        ["t: WARNING: refcount_t: addition on 0; use-after-free. (refcount_inc(r))"]
      )
      assert.deepStrictEqual(
        r(0, (x) => Effect.asVoid(x.decAndTest)),
        ["t: WARNING: refcount_t: underflow; use-after-free. (refcount_dec_and_test(r))"]
      )
      assert.deepStrictEqual(
        r(1, (x) => x.dec),
        ["t: WARNING: refcount_t: decrement hit 0; leaking memory. (refcount_dec(r))"]
      )
      // The same operations on a live count are fine; inc_not_zero refuses 0 without a WARN.
      assert.deepStrictEqual(
        r(1, (x) => Effect.andThen(x.inc, x.dec)),
        []
      )
      const seen: Array<boolean> = []
      assert.deepStrictEqual(
        r(0, (x) =>
          Effect.gen(function* () {
            seen.push(yield* x.incNotZero)
            yield* x.set(1)
            seen.push(yield* x.incNotZero)
            seen.push(yield* x.decAndTest)
            seen.push(yield* x.decAndTest)
          })
        ),
        []
      )
      assert.deepStrictEqual(seen, [false, true, false, true])
    })
  )

  it.effect("a leak check is opt-in for a bare refcount_t", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(one(Effect.asVoid(Refcount.make("r"))), [])
      assert.deepStrictEqual(one(Effect.asVoid(Refcount.make("r", 1, { leakCheck: true }))), [
        "invariant leak:r broken: unreferenced object r: 1 reference never put (leak)"
      ])
    })
  )
})

/**
 * A device object with a kref: `setup` holds the initial reference and hands one to `user`.
 * `userTakesRef`: the user takes its own reference (kref_get) before the owner's put, as it must.
 */
const device = (options: { readonly userTakesRef: boolean; readonly userPuts?: boolean; readonly getUnlessZero?: boolean }) =>
  scenario(
    "device",
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const dev = yield* Slab.kmalloc("dev#1", { mtu: 1500 })
      const ref = yield* Refcount.kref("dev#1->kref", Slab.kfree(dev), { releaseName: "dev_release" })
      const lookup = yield* Mutex.make("dev_list_lock")
      let listed = true
      if (options.userTakesRef) yield* ref.get
      yield* kernel.spawn(
        "user",
        kernel.call(
          "dev",
          "dev_ioctl",
          Effect.gen(function* () {
            if (options.getUnlessZero) {
              // A lookup that may race with the last put: take a reference only if it is not 0.
              yield* lookup.lock
              const ok = listed && (yield* ref.getUnlessZero)
              yield* lookup.unlock
              if (!ok) return
            }
            yield* dev.read
            if (options.userPuts !== false) yield* ref.put
          })
        )
      )
      yield* kernel.spawn(
        "remover",
        kernel.call(
          "dev",
          "dev_remove",
          Effect.gen(function* () {
            yield* lookup.lock
            listed = false
            yield* lookup.unlock
            yield* ref.put
          })
        )
      )
    })
  )

describe("kref", () => {
  it.effect("each user holds a reference: the release runs once, after the last use", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(exhaust(device({ userTakesRef: true })).summaries, [])
      assert.deepStrictEqual(exhaust(device({ userTakesRef: false, getUnlessZero: true })).summaries, [])
    })
  )

  it.effect("a user without a reference: use after the last put (KASAN), or the owner's put underflows", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(exhaust(device({ userTakesRef: false })).summaries, [
        // the user's put dropped the owner's reference: the remover's put underflows
        "remover: WARNING: refcount_t: underflow; use-after-free. (kref_put(dev#1->kref))",
        // the remover's put released the object first: the user's access is after the free
        "user: WARNING: use-after-free: dev#1 freed by remover in dev_release still reached by user in dev_ioctl"
      ])
    })
  )

  it.effect("a reference never put: a leak when every task has ended", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(exhaust(device({ userTakesRef: true, userPuts: false })).summaries, [
        "invariant leak:dev#1->kref broken: unreferenced object dev#1->kref: 1 reference never put (leak)"
      ])
    })
  )

  it.effect("kref_get after the release: addition on 0", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(
        one(
          Effect.gen(function* () {
            const ref = yield* Refcount.kref("k", Effect.void)
            yield* ref.put
            yield* ref.get
          })
        ),
        ["t: WARNING: refcount_t: addition on 0; use-after-free. (kref_get(k))"]
      )
    })
  )

  it.effect("DPOR: the same findings as unbounded DFS, in no more executions", () =>
    Effect.sync(() => {
      for (const o of [
        { userTakesRef: true },
        { userTakesRef: false },
        { userTakesRef: false, getUnlessZero: true },
        { userTakesRef: true, userPuts: false }
      ]) {
        const reference = exhaust(device(o), "dfs").report
        const reduced = exhaust(device(o), "dpor").report
        const sig = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => Finding.signatureOf(c.finding.problem)))].sort()
        assert.deepStrictEqual(sig(reduced), sig(reference), JSON.stringify(o))
        assert.isAtMost(reduced.runs, reference.runs, JSON.stringify(o))
      }
    })
  )
})
