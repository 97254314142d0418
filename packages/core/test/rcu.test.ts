import { Atomic, Explorer, Finding, Kernel, Mutex, Rcu, type Scenario, Sched, Slab } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

/** Every finding summary over the whole space (unbounded DFS), and whether it was exhausted. */
const exhaust = (s: Scenario, strategy: "dfs" | "dpor" = "dfs") => {
  const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy, preemptions: 1000, schedules: 50_000, maxFindings: 100 })))
  assert.strictEqual(report.stopped, "exhausted", s.name)
  return { summaries: report.counterexamples.map((c) => c.finding.summary).sort(), report }
}

type Free = "synchronize" | "kfree" | "kfree_rcu" | "call_rcu"

/**
 * The textbook update: a reader looks at `dev->cfg` under rcu_read_lock; the updater publishes a
 * new config and frees the old one. `keep`: the reader uses the object again after
 * rcu_read_unlock. `nested`: the reader's use sits after an inner rcu_read_lock/unlock pair.
 */
const update = (free: Free, options: { readonly keep?: boolean; readonly nested?: boolean } = {}) =>
  scenario(
    `update-${free}`,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const rcu = yield* Rcu.make()
      const first = yield* Slab.kmalloc("cfg#1", 1500)
      const cfg = yield* rcu.pointer("dev->cfg", first)
      yield* kernel.spawn(
        "reader",
        kernel.call(
          "dev",
          "dev_show_mtu",
          Effect.gen(function* () {
            yield* rcu.readLock
            const c = yield* cfg.dereference
            if (options.nested) {
              yield* rcu.readLock
              yield* rcu.readUnlock
            }
            if (c !== null) yield* c.read
            yield* rcu.readUnlock
            if (options.keep && c !== null) yield* c.read
          })
        )
      )
      yield* kernel.spawn(
        "updater",
        kernel.call(
          "dev",
          "dev_change_mtu",
          Effect.gen(function* () {
            const old = cfg.peek()!
            yield* cfg.assign(yield* Slab.kmalloc("cfg#2", 9000))
            switch (free) {
              case "synchronize":
                yield* rcu.synchronize
                yield* Slab.kfree(old)
                return
              case "kfree":
                yield* Slab.kfree(old)
                return
              case "kfree_rcu":
                yield* rcu.kfreeRcu(old)
                return
              case "call_rcu":
                yield* rcu.callRcu("dev_cfg_free_rcu", Slab.kfree(old))
                return
            }
          })
        )
      )
    })
  )

describe("rcu", () => {
  it.effect("a reader inside its section never sees the old object freed: synchronize_rcu, kfree_rcu and call_rcu wait for it", () =>
    Effect.sync(() => {
      for (const free of ["synchronize", "kfree_rcu", "call_rcu"] as const) {
        assert.deepStrictEqual(exhaust(update(free)).summaries, [], free)
      }
    })
  )

  it.effect("a plain kfree while the reader is inside its section: use-after-free", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(exhaust(update("kfree")).summaries, [
        "reader: WARNING: use-after-free: cfg#1 freed by updater in dev_change_mtu still reached by reader in dev_show_mtu"
      ])
    })
  )

  it.effect("a reader that keeps the pointer past rcu_read_unlock reaches an object freed after the grace period", () =>
    Effect.sync(() => {
      for (const free of ["synchronize", "kfree_rcu", "call_rcu"] as const) {
        const how = free === "synchronize" ? "by updater in dev_change_mtu" : "after grace period"
        assert.deepStrictEqual(
          exhaust(update(free, { keep: true })).summaries,
          [`reader: WARNING: use-after-free: cfg#1 freed ${how} still reached by reader in dev_show_mtu`],
          free
        )
      }
    })
  )

  it.effect("sections nest: an inner rcu_read_unlock does not end the section", () =>
    Effect.sync(() => {
      for (const free of ["synchronize", "call_rcu"] as const) {
        assert.deepStrictEqual(exhaust(update(free, { nested: true })).summaries, [], free)
      }
    })
  )

  /** The reader spins (no sleep) inside its section until the updater's grace period is over. */
  const laterReader = (seen: Set<string>, updaterFirst = false) =>
    scenario(
      "later-reader",
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const rcu = yield* Rcu.make()
        const flag = yield* Atomic.make("flag", 0)
        const reader = Effect.gen(function* () {
          yield* rcu.readLock
          yield* flag.condRead((n) => n === 1, "flag == 1")
          yield* rcu.readUnlock
        })
        const updater = Effect.gen(function* () {
          yield* rcu.synchronize
          if (rcu.holders().includes("reader")) seen.add("returned while a later reader is inside")
          yield* flag.set(1)
        })
        if (updaterFirst) yield* kernel.spawn("updater", updater)
        yield* kernel.spawn("reader", reader)
        if (!updaterFirst) yield* kernel.spawn("updater", updater)
      })
    )

  it.effect("synchronize_rcu waits for sections begun before it, not for those begun after", () =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const s = laterReader(seen)
      const { summaries } = exhaust(s)
      // The section began first: the grace period waits for it, and it waits for the updater.
      assert.deepStrictEqual(summaries, ["livelock (endless spin): reader spins in atomic_cond_read_relaxed(flag, flag == 1) holding rcu"])
      // The section began after synchronize_rcu: it does not delay the grace period.
      assert.deepStrictEqual([...seen], ["returned while a later reader is inside"])
    })
  )

  it.effect("rcu_barrier waits for the callbacks queued before it", () =>
    Effect.sync(() => {
      const s = scenario(
        "barrier",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const rcu = yield* Rcu.make()
          const ran = yield* Atomic.make("ran", 0)
          yield* kernel.spawn("reader", Effect.andThen(rcu.readLock, rcu.readUnlock))
          yield* kernel.spawn(
            "module_exit",
            Effect.gen(function* () {
              yield* rcu.callRcu("cb", Effect.asVoid(Atomic.inc(ran)))
              yield* rcu.barrier
              if ((yield* ran.read) !== 1) yield* kernel.warn("callback not run after rcu_barrier")
            })
          )
        })
      )
      assert.deepStrictEqual(exhaust(s).summaries, [])
    })
  )

  describe("lockdep's RCU checks", () => {
    const one = (name: string, body: (rcu: Rcu.Rcu) => Effect.Effect<void, never, Kernel>) =>
      exhaust(
        scenario(
          name,
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const rcu = yield* Rcu.make()
            yield* kernel.spawn("t", kernel.call("drv", "drv_fn", body(rcu)))
          })
        )
      ).summaries

    it.effect("sleeping inside a read-side section", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(
          one("mutex", (rcu) =>
            Effect.gen(function* () {
              const lock = yield* Mutex.make("m")
              yield* rcu.readLock
              yield* lock.lock
              yield* lock.unlock
              yield* rcu.readUnlock
            })
          ),
          [
            "t: WARNING: suspicious RCU usage: Illegal context switch in RCU read-side critical section: mutex_lock(m) in drv_fn; held: rcu_read_lock"
          ]
        )
        assert.deepStrictEqual(
          one("msleep", (rcu) => Effect.andThen(rcu.readLock, Sched.msleep(1))),
          [
            "t: WARNING: suspicious RCU usage: Illegal context switch in RCU read-side critical section: msleep(1) in drv_fn; held: rcu_read_lock"
          ]
        )
        // After the section, the same calls are fine.
        assert.deepStrictEqual(
          one("after", (rcu) => Effect.andThen(Effect.andThen(rcu.readLock, rcu.readUnlock), Sched.msleep(1))),
          []
        )
      })
    )

    it.effect("synchronize_rcu inside a read-side section", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(
          one("sync", (rcu) => Effect.andThen(rcu.readLock, rcu.synchronize)),
          ["t: WARNING: suspicious RCU usage: Illegal synchronize_rcu() in RCU read-side critical section"]
        )
      })
    )

    it.effect("rcu_dereference outside a section; rcu_dereference_protected without the lock", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(
          one("deref", (rcu) => Effect.flatMap(rcu.pointer("p", null), (p) => p.dereference)),
          [
            "t: WARNING: suspicious RCU usage: suspicious rcu_dereference_check() usage! (rcu_dereference(p) outside an RCU read-side critical section)"
          ]
        )
        const protectedDeref = (locked: boolean) =>
          one("protected", (rcu) =>
            Effect.gen(function* () {
              const lock = yield* Mutex.make("cfg_lock")
              const p = yield* rcu.pointer("p", null)
              if (locked) yield* lock.lock
              yield* p.dereferenceProtected(lock)
              if (locked) yield* lock.unlock
            })
          )
        assert.deepStrictEqual(protectedDeref(true), [])
        assert.deepStrictEqual(protectedDeref(false), [
          "t: WARNING: suspicious RCU usage: suspicious rcu_dereference_protected() usage! (p without cfg_lock held)"
        ])
      })
    )

    it.effect("rcu_read_unlock without rcu_read_lock; an RCU callback that sleeps", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(
          one("unbalanced", (rcu) => rcu.readUnlock),
          ["t: WARNING: bad unlock balance detected: rcu_read_unlock() by t outside an RCU read-side critical section"]
        )
        assert.deepStrictEqual(
          one("callback", (rcu) => rcu.callRcu("cb", Sched.msleep(1))),
          [
            "rcu_core: BUG: sleeping function called from invalid context (an RCU callback runs in softirq): msleep(1) in cb; held: rcu_callback"
          ]
        )
      })
    )
  })

  it.effect("DPOR: the same findings as unbounded DFS on every RCU scenario, in no more executions", () =>
    Effect.sync(() => {
      // A section's begin and a grace period's start do not commute, even for a task that has
      // never been a reader: with the updater first, DPOR must still try the reader first.
      for (const updaterFirst of [false, true]) {
        const reference = exhaust(laterReader(new Set(), updaterFirst), "dfs").summaries
        assert.deepStrictEqual(exhaust(laterReader(new Set(), updaterFirst), "dpor").summaries, reference, `updaterFirst=${updaterFirst}`)
      }
      for (const free of ["synchronize", "kfree", "kfree_rcu", "call_rcu"] as const) {
        for (const keep of [false, true]) {
          const reference = exhaust(update(free, { keep }), "dfs")
          const reduced = exhaust(update(free, { keep }), "dpor")
          const sig = (r: Explorer.Report) => [...new Set(r.counterexamples.map((c) => Finding.signatureOf(c.finding.problem)))].sort()
          assert.deepStrictEqual(sig(reduced.report), sig(reference.report), `${free} keep=${keep}`)
          assert.isAtMost(reduced.report.runs, reference.report.runs, `${free} keep=${keep}`)
        }
      }
    })
  )
})
