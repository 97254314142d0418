import { Atomic, Explorer, Kernel, LockOrder, Mutex, Render, RwSemaphore, type Scenario, WaitQueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { summarize } from "../src/internal/engine.ts"

/** Issue 10, "report fixes": what lockdep reports that the explorer and the lock-order analysis did not. */

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

const exhaust = (s: Scenario, preemptions = 2) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions, schedules: 20_000 })))

describe("a task that ends holding a lock", () => {
  it.effect("is lockdep's 'lock held when returning to user space', naming the task, the lock and where it was taken", () =>
    Effect.sync(() => {
      const s = scenario(
        "leak",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("dev->lock", { lockClass: "&dev->lock" })
          yield* kernel.spawn("ioctl", kernel.call("dev", "dev_ioctl", m.lock))
        })
      )
      const report = exhaust(s)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.finding.summary),
        [
          "ioctl: WARNING: lock held when returning to user space! ioctl is leaving the kernel with locks still held! 1 lock held by ioctl: #0: dev->lock (&dev->lock) taken by mutex_lock(dev->lock) in dev_ioctl()"
        ]
      )
    })
  )

  it.effect("a task that releases what it took, or leaves a home-grown (lock-like atomic) lock for another to clear, is clean", () =>
    Effect.sync(() => {
      const s = scenario(
        "balanced",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          const flag = yield* Atomic.make("busy", 0, { lockLike: { held: (v) => v === 1 } })
          yield* kernel.spawn("a", Effect.andThen(m.lock, m.unlock))
          // `b` sets the flag and ends; `c` clears it once it is set: a hand-off lockdep never sees.
          yield* kernel.spawn("b", Effect.asVoid(flag.cmpxchg(0, 1)))
          yield* kernel.spawn(
            "c",
            Effect.andThen(
              flag.condRead((v) => v === 1, "== 1"),
              flag.set(0)
            )
          )
        })
      )
      assert.deepStrictEqual(
        exhaust(s).counterexamples.map((c) => c.finding.summary),
        []
      )
    })
  )
})

describe("deadlock reports", () => {
  it("a deadlock on a lock whose holder has gone names the gone holder", () => {
    const problem = {
      _tag: "Deadlock" as const,
      blocked: [
        {
          task: "remove",
          op: "mutex_lock(m)",
          resource: "m",
          waitKind: "mutex",
          holders: ["ioctl"],
          exited: ["ioctl"],
          holds: [],
          spinning: false
        }
      ],
      cycle: []
    }
    assert.strictEqual(summarize(problem), "deadlock: remove blocked in mutex_lock(m), held by ioctl, which exited")
  })

  it.effect("a reader blocked behind a queued writer names the writer: reader -> writer (queued) -> reader", () =>
    Effect.sync(() => {
      const s = scenario(
        "recursive-read",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const sem = yield* RwSemaphore.make("sem")
          yield* kernel.spawn(
            "reader",
            Effect.gen(function* () {
              yield* sem.downRead
              yield* sem.downRead
              yield* sem.upRead
              yield* sem.upRead
            })
          )
          yield* kernel.spawn("writer", Effect.andThen(sem.downWrite, sem.upWrite))
        })
      )
      const report = exhaust(s)
      assert.strictEqual(report.counterexamples.length, 1)
      const cx = report.counterexamples[0]!
      const p = cx.finding.problem
      assert.strictEqual(p._tag, "Deadlock")
      if (p._tag !== "Deadlock") return
      assert.deepStrictEqual(p.blocked.find((b) => b.task === "reader")?.behind, ["writer"])
      assert.deepStrictEqual(
        p.cycle.map((e) => [e.task, e.resource, e.holder, e.queued === true]),
        [
          ["reader", "sem", "writer", true],
          ["writer", "sem", "reader", false]
        ]
      )
      assert.strictEqual(
        cx.finding.summary,
        "deadlock: reader waits for sem behind writer (queued for it); writer waits for sem held by reader"
      )
      assert.include(Render.Text.render(cx), "behind writer (queued for it)")
    })
  )
})

describe("resource ids", () => {
  it.effect("two resources made with one id in a run are an error at make time", () =>
    Effect.sync(() => {
      const s = scenario(
        "twice",
        Effect.gen(function* () {
          yield* Mutex.make("dev->lock")
          yield* RwSemaphore.make("dev->lock")
        })
      )
      const report = exhaust(s, 0)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.finding.summary),
        [
          'setup: task died: Error: two resources made with id "dev->lock" in one run (a mutex and now a rwsem): an id names one instance; give the second its own id (its lock class may be shared)'
        ]
      )
    })
  )
})

describe("lock-order analysis: recursive locking of one instance", () => {
  const aa = scenario(
    "AA",
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const a = yield* Mutex.make("A", { lockClass: "&a->lock" })
      yield* kernel.spawn("t", kernel.call("demo", "f", Effect.andThen(a.lock, a.lock)))
    })
  )

  it.effect("mutex_lock(A); mutex_lock(A) is 'possible recursive locking detected', though the run never takes A twice", () =>
    Effect.gen(function* () {
      const r = yield* LockOrder.analyzeOnce(aa)
      assert.deepStrictEqual(r.outcomes, { deadlock: 1 })
      assert.deepStrictEqual(
        r.cycles.map((c) => [c.kind, c.classes, c.status]),
        [["recursive", ["&a->lock"], "confirmed"]]
      )
      const text = LockOrder.renderCycle(r.cycles[0]!)
      assert.include(text, "WARNING: possible recursive locking detected: &a->lock acquired while held")
      assert.include(text, "May be due to missing lock nesting notation")
    })
  )
})

describe("wait labels", () => {
  it.effect("wait_event() without a timeout sleeps in schedule(), wait_event_timeout() in schedule_timeout()", () =>
    Effect.sync(() => {
      const blockedOp = (timed: boolean) => {
        const s = scenario(
          "never-woken",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const wq = yield* WaitQueue.make("wq")
            const flag = yield* Atomic.make("flag", 0)
            const wait = timed
              ? Effect.asVoid(wq.waitEventTimeout(() => flag.peek() === 1, "flag", 10))
              : wq.waitEvent(() => flag.peek() === 1, "flag")
            // The flag is set without a wake_up: the untimed waiter sleeps for ever.
            yield* kernel.spawn("waiter", wait)
            yield* kernel.spawn("setter", flag.set(1))
          })
        )
        const report = exhaust(s, 0)
        const p = report.counterexamples[0]?.finding.problem
        return p?._tag === "Deadlock" ? p.blocked.map((b) => b.op) : []
      }
      assert.deepStrictEqual(blockedOp(false), ["schedule(wq, flag)"])
      // The timed wait ends at its timeout: no deadlock.
      assert.deepStrictEqual(blockedOp(true), [])
    })
  )
})
