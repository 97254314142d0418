import { Atomic, Explorer, Irq, Kernel, LockOrder, Mutex, RwLock, type Scenario, Sched, Spinlock } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/** Spinlocks, rwlocks and interrupt contexts (issue 10, item 1). */

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

const explore = (s: Scenario, strategy: "dfs" | "dpor" = "dfs", preemptions = 3) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy, preemptions, schedules: 50_000 })))

const summaries = (s: Scenario, strategy: "dfs" | "dpor" = "dfs") => explore(s, strategy).counterexamples.map((c) => c.finding.summary)

type Take = "plain" | "irqsave" | "irq" | "bh"

/** `xmit` on CPU 0 takes `priv->lock` (as `take`); an interrupt of `kind` on `cpu` takes it with spin_lock. */
const irqVsThread = (take: Take, kind: "hardirq" | "softirq", cpu = 0) =>
  scenario(
    `${take}-vs-${kind}`,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const lock = yield* Spinlock.make("priv->lock", { lockClass: "&priv->lock" })
      const section = {
        plain: Effect.andThen(lock.lock, lock.unlock),
        irqsave: Effect.flatMap(lock.lockIrqsave, (flags) => lock.unlockIrqrestore(flags)),
        irq: Effect.andThen(lock.lockIrq, lock.unlockIrq),
        bh: Effect.andThen(lock.lockBh, lock.unlockBh)
      }[take]
      yield* kernel.spawn("xmit", kernel.call("drv", "drv_xmit", section), { cpu: 0 })
      yield* Irq.raise("irq", { cpu, kind }, kernel.call("drv", "drv_interrupt", Effect.andThen(lock.lock, lock.unlock)))
    })
  )

describe("spinlock and interrupts", () => {
  it.effect("a hard interrupt that spins on the lock held by the task it interrupted deadlocks, the CPU in the cycle", () =>
    Effect.sync(() => {
      const report = explore(irqVsThread("plain", "hardirq"))
      assert.strictEqual(report.counterexamples.length, 1)
      const p = report.counterexamples[0]!.finding.problem
      assert.strictEqual(p._tag, "Deadlock")
      if (p._tag !== "Deadlock") return
      assert.deepStrictEqual(
        p.cycle.map((e) => [e.task, e.resource, e.holder]),
        [
          ["xmit", "cpu0", "irq"],
          ["irq", "priv->lock", "xmit"]
        ]
      )
      const irq = p.blocked.find((b) => b.task === "irq")!
      assert.deepStrictEqual([irq.op, irq.waitKind, irq.spinning], ["spin_lock(priv->lock) spin", "spinlock", true])
    })
  )

  it.effect("DPOR finds it too (a handler's start and its CPU's steps are dependent)", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(summaries(irqVsThread("plain", "hardirq"), "dpor"), [
        "deadlock: xmit waits for cpu0 held by irq; irq waits for priv->lock held by xmit"
      ])
      const fixed = explore(irqVsThread("irqsave", "hardirq"), "dpor")
      assert.deepStrictEqual(
        fixed.counterexamples.map((c) => c.finding.summary),
        []
      )
    })
  )

  it.effect("DPOR orders a handler's start against every step of its CPU, even with nothing else shared", () =>
    Effect.sync(() => {
      // irq (CPU 0) busy-waits for c, set by t2 (CPU 1) once t (CPU 0) has set d. If irq arrives
      // before t's store, t never runs again: only the CPU links irq's start and t's step.
      const s = scenario(
        "cpu-only",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const c = yield* Atomic.make("c", 0)
          const d = yield* Atomic.make("d", 0)
          const e = yield* Atomic.make("e", 0)
          // t's last step ends it (a write of the CPU): the store before it must be ordered by the CPU alone.
          yield* kernel.spawn("t", Effect.andThen(d.set(1), e.set(1)), { cpu: 0 })
          yield* kernel.spawn(
            "t2",
            Effect.andThen(
              d.condRead((v) => v === 1, "== 1"),
              c.set(1)
            ),
            { cpu: 1 }
          )
          yield* Irq.raise(
            "irq",
            { cpu: 0 },
            c.condRead((v) => v === 1, "== 1")
          )
        })
      )
      for (const strategy of ["dfs", "dpor"] as const) {
        assert.deepStrictEqual(
          explore(s, strategy).counterexamples.map((c) => c.kind),
          ["livelock"],
          strategy
        )
      }
    })
  )

  it.effect("DPOR finds it when the interrupt is raised before the thread exists too (its first step blocked by the CPU)", () =>
    Effect.sync(() => {
      const s = scenario(
        "irq-first",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const lock = yield* Spinlock.make("A")
          yield* Irq.raise("irq", { cpu: 0 }, Effect.andThen(lock.lock, lock.unlock))
          yield* kernel.spawn("t", Effect.andThen(lock.lock, lock.unlock), { cpu: 0 })
        })
      )
      // Before the fix, DPOR's first run (irq, then t) raced irq's return with t's first step, which
      // was not runnable then, and never reversed irq's start: one run, "exhausted", clean.
      assert.deepStrictEqual(summaries(s, "dpor"), ["deadlock: irq waits for A held by t; t waits for cpu0 held by irq"])
    })
  )

  it.effect("spin_lock_irqsave and spin_lock_irq keep the interrupt out; on another CPU it only contends", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(summaries(irqVsThread("irqsave", "hardirq")), [])
      assert.deepStrictEqual(summaries(irqVsThread("irq", "hardirq")), [])
      assert.deepStrictEqual(summaries(irqVsThread("plain", "hardirq", 1)), [])
    })
  )

  it.effect("a softirq needs spin_lock_bh (or irq-disabling) in the thread; spin_lock_bh does not keep a hard interrupt out", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(summaries(irqVsThread("plain", "softirq")), [
        "deadlock: xmit waits for cpu0 held by irq; irq waits for priv->lock held by xmit"
      ])
      assert.deepStrictEqual(summaries(irqVsThread("bh", "softirq")), [])
      assert.deepStrictEqual(summaries(irqVsThread("irqsave", "softirq")), [])
      assert.deepStrictEqual(summaries(irqVsThread("bh", "hardirq")), [
        "deadlock: xmit waits for cpu0 held by irq; irq waits for priv->lock held by xmit"
      ])
    })
  )

  it.effect("a handler runs between any two steps of the task it interrupts, and to completion", () =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const s = scenario(
        "interleave",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const a = yield* Atomic.make("a", 0)
          yield* kernel.spawn("t", Effect.andThen(a.set(1), a.set(2)), { cpu: 0 })
          yield* Irq.raise(
            "irq",
            { cpu: 0 },
            Effect.gen(function* () {
              const first = yield* a.read
              const second = yield* a.read
              seen.add(`${first}${second}`)
            })
          )
        })
      )
      assert.deepStrictEqual(summaries(s), [])
      // Before t, between its steps, after it; never t in the middle of the handler (01, 12).
      assert.deepStrictEqual([...seen].sort(), ["00", "11", "22"])
    })
  )

  it.effect("two threads on one CPU: the one holding a spinlock keeps the CPU (preemption disabled)", () =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const s = scenario(
        "preempt",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const lock = yield* Spinlock.make("l")
          const a = yield* Atomic.make("a", 0)
          yield* kernel.spawn("t1", Effect.all([lock.lock, a.set(1), a.set(2), lock.unlock]), { cpu: 0 })
          yield* kernel.spawn(
            "t2",
            Effect.gen(function* () {
              seen.add(String(yield* a.read))
            }),
            { cpu: 0 }
          )
        })
      )
      assert.deepStrictEqual(summaries(s), [])
      assert.deepStrictEqual([...seen].sort(), ["0", "2"])
    })
  )
})

describe("sleeping in atomic context", () => {
  it.effect("mutex_lock under a spinlock is 'BUG: sleeping function called from invalid context', even uncontended", () =>
    Effect.sync(() => {
      const s = scenario(
        "sleep-under-spin",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const lock = yield* Spinlock.make("l")
          const m = yield* Mutex.make("m")
          yield* kernel.spawn("t", kernel.call("drv", "drv_cfg", Effect.all([lock.lock, m.lock, m.unlock, lock.unlock])))
        })
      )
      assert.deepStrictEqual(summaries(s), [
        "t: BUG: sleeping function called from invalid context at mutex_lock(m) in drv_cfg(): in_atomic(): 1, irqs_disabled(): 0, context: process, name: t; holding l"
      ])
    })
  )

  it.effect("msleep in a hard interrupt handler is one too; after spin_unlock the thread may sleep", () =>
    Effect.sync(() => {
      const s = scenario(
        "sleep-in-irq",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const lock = yield* Spinlock.make("l")
          yield* kernel.spawn("t", Effect.all([lock.lock, lock.unlock, Sched.msleep(1)]))
          yield* Irq.raise("irq", { cpu: 0 }, Sched.msleep(1))
        })
      )
      assert.deepStrictEqual(summaries(s), [
        "irq: BUG: sleeping function called from invalid context at msleep(1): in_atomic(): 1, irqs_disabled(): 1, context: hardirq, name: irq"
      ])
    })
  )
})

describe("rwlock", () => {
  /** `t` on CPU 0 holds the lock for read; a writer on CPU 1 queues; then a second read: by `t` itself, or by an interrupt. */
  const secondRead = (by: "thread" | "irq") =>
    scenario(
      `second-read-${by}`,
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const lock = yield* RwLock.make("tbl->lock")
        const queued = yield* Atomic.make("queued", 0)
        yield* kernel.spawn(
          "t",
          Effect.gen(function* () {
            yield* lock.readLock
            yield* queued.condRead((v) => v === 1, "== 1")
            if (by === "thread") {
              yield* lock.readLock
              yield* lock.readUnlock
            }
            yield* lock.readUnlock
          }),
          { cpu: 0 }
        )
        yield* kernel.spawn(
          "w",
          Effect.gen(function* () {
            yield* queued.set(1)
            yield* lock.writeLock
            yield* lock.writeUnlock
          }),
          { cpu: 1 }
        )
        if (by === "irq") yield* Irq.raise("irq", { cpu: 0 }, Effect.andThen(lock.readLock, lock.readUnlock))
      })
    )

  it.effect("a reader in process context waits behind a queued writer (recursive read_lock deadlocks), naming the writer", () =>
    Effect.sync(() => {
      const report = explore(secondRead("thread"))
      const kinds = report.counterexamples.map((c) => c.kind)
      assert.deepStrictEqual(kinds, ["deadlock"])
      const p = report.counterexamples[0]!.finding.problem
      assert.isTrue(p._tag === "Deadlock" && p.cycle.some((e) => e.task === "t" && e.holder === "w" && e.queued === true))
    })
  )

  it.effect("a reader in interrupt context gets the lock while the writer only waits (qrwlock)", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(summaries(secondRead("irq")), [])
    })
  )

  it.effect("write_lock vs a hard interrupt's read_lock on the same CPU deadlocks; write_lock_irqsave does not", () =>
    Effect.sync(() => {
      const run = (irqsave: boolean) =>
        summaries(
          scenario(
            "w-vs-irq",
            Effect.gen(function* () {
              const kernel = yield* Kernel
              const lock = yield* RwLock.make("tbl->lock")
              yield* kernel.spawn(
                "t",
                irqsave
                  ? Effect.flatMap(lock.writeLockIrqsave, (f) => lock.writeUnlockIrqrestore(f))
                  : Effect.andThen(lock.writeLock, lock.writeUnlock),
                { cpu: 0 }
              )
              yield* Irq.raise("irq", { cpu: 0 }, Effect.andThen(lock.readLock, lock.readUnlock))
            })
          )
        )
      assert.deepStrictEqual(run(false), ["deadlock: t waits for cpu0 held by irq; irq waits for tbl->lock held by t"])
      assert.deepStrictEqual(run(true), [])
    })
  )
})

describe("lockdep's irq rules in the lock-order analysis", () => {
  it.effect("a lock taken with interrupts on and in a handler: 'inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.'", () =>
    Effect.gen(function* () {
      // One benign run (xmit, then the interrupt) is enough, as for lockdep.
      const r = yield* LockOrder.analyzeOnce(irqVsThread("plain", "hardirq"), { confirm: false })
      assert.deepStrictEqual(r.outcomes, { finished: 1 })
      assert.deepStrictEqual(
        (r.irq ?? []).map((v) => [v.kind, v.title, v.classes, v.first.task, v.first.func, v.second.task, v.second.func]),
        [
          [
            "inconsistent",
            "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.",
            ["&priv->lock"],
            "xmit",
            "drv_xmit",
            "irq",
            "drv_interrupt"
          ]
        ]
      )
      const text = LockOrder.render(r)
      assert.include(text, "WARNING: inconsistent lock state")
      assert.include(text, "  <Interrupt>\n    lock(&priv->lock);")
      // With spin_lock_irqsave in the thread: consistent.
      const fixed = yield* LockOrder.analyzeOnce(irqVsThread("irqsave", "hardirq"), { confirm: false })
      assert.strictEqual(fixed.irq, undefined)
    })
  )

  it.effect("a softirq: 'inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.'; spin_lock_bh is consistent", () =>
    Effect.gen(function* () {
      const r = yield* LockOrder.analyzeOnce(irqVsThread("plain", "softirq"), { confirm: false })
      assert.deepStrictEqual(
        (r.irq ?? []).map((v) => v.title),
        ["inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage."]
      )
      assert.strictEqual((yield* LockOrder.analyzeOnce(irqVsThread("bh", "softirq"), { confirm: false })).irq, undefined)
    })
  )

  it.effect("taking an irq-unsafe lock under an irq-safe one: 'HARDIRQ-safe -> HARDIRQ-unsafe lock order detected'", () =>
    Effect.gen(function* () {
      const s = scenario(
        "safe-unsafe",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const a = yield* Spinlock.make("A", { lockClass: "&dev->irq_lock" })
          const b = yield* Spinlock.make("B", { lockClass: "&dev->stats_lock" })
          // The handler takes A; a thread takes B with interrupts on; another takes B under A.
          yield* kernel.join(yield* Irq.raise("irq", { cpu: 0 }, Effect.andThen(a.lock, a.unlock)))
          yield* kernel.join(yield* kernel.spawn("stats", Effect.andThen(b.lock, b.unlock)))
          yield* kernel.join(
            yield* kernel.spawn(
              "cfg",
              Effect.flatMap(a.lockIrqsave, (f) => Effect.all([b.lock, b.unlock, a.unlockIrqrestore(f)]))
            )
          )
        })
      )
      const r = yield* LockOrder.analyzeOnce(s, { confirm: false })
      assert.deepStrictEqual(
        (r.irq ?? []).map((v) => [v.title, v.classes, v.first.usage, v.second.usage]),
        [["HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", ["&dev->irq_lock", "&dev->stats_lock"], "IN-HARDIRQ-W", "HARDIRQ-ON-W"]]
      )
      assert.include(LockOrder.render(r), "Possible interrupt unsafe locking scenario")
    })
  )
})

describe("irq usage across split explorations", () => {
  it.effect("LockGraph.toData / append carry the usage bits, so the irq rules see the whole", () =>
    Effect.sync(() => {
      const observer = LockOrder.observer()
      Effect.runSync(
        Explorer.explore(irqVsThread("plain", "hardirq"), Explorer.options({ strategy: "dfs", schedules: 1 }), { observers: [observer] })
      )
      const whole = new LockOrder.LockGraph()
      whole.append(new LockOrder.LockGraph().toData())
      whole.append(observer.graph.toData())
      assert.deepStrictEqual(
        LockOrder.irqViolations(whole).map((v) => v.title),
        ["inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage."]
      )
    })
  )
})
