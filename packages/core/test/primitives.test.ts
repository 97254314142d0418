import { Atomic, Completion, Explorer, Kernel, Mutex, RwSemaphore, type Scenario, Sched, WaitQueue, Workqueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const scenario = (name: string, program: Scenario["program"]): Scenario => ({ name, description: name, program })

/** Every distinct finding kind over the whole bounded space, plus whether it was exhausted. */
const exhaust = (s: Scenario, preemptions = 2) => {
  const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions, schedules: 20_000 })))
  return { kinds: report.counterexamples.map((c) => c.kind).sort(), report }
}

describe("workqueue", () => {
  it.effect("queue_work returns false while the item is pending, true once it has started", () =>
    Effect.sync(() => {
      const results: Array<boolean> = []
      const s = scenario(
        "pending",
        Effect.gen(function* () {
          const wq = yield* Workqueue.make("wq")
          const w = Workqueue.work("w", Effect.void)
          results.push(yield* wq.queueWork(w))
          results.push(yield* wq.queueWork(w))
          yield* wq.flush
          results.push(yield* wq.queueWork(w))
        })
      )
      const { report } = exhaust(s, 0)
      assert.strictEqual(report.counterexamples.length, 0)
      assert.deepStrictEqual(results.slice(0, 3), [true, false, true])
    })
  )

  it.effect("an ordered queue runs one item at a time; a concurrent one runs them together", () =>
    Effect.sync(() => {
      const overlap = (maxActive: number) => {
        let max = 0
        const s = scenario(
          "overlap",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const wq = yield* Workqueue.make("wq", { maxActive })
            const gate = yield* Atomic.make("gate", 0)
            const item = (n: string) =>
              Workqueue.work(
                n,
                Effect.gen(function* () {
                  yield* Atomic.inc(gate)
                  max = Math.max(max, gate.peek())
                  yield* Atomic.dec(gate)
                })
              )
            yield* wq.queueWork(item("a"))
            yield* wq.queueWork(item("b"))
            yield* wq.flush
            kernel.probe("max", () => String(max))
          })
        )
        exhaust(s)
        return max
      }
      assert.strictEqual(overlap(1), 1)
      assert.strictEqual(overlap(4), 2)
    })
  )

  it.effect("destroy drains pending items; queueing afterwards is a WARN", () =>
    Effect.sync(() => {
      let ran = 0
      const s = scenario(
        "destroy",
        Effect.gen(function* () {
          ran = 0
          const wq = yield* Workqueue.make("wq")
          const w = Workqueue.work(
            "w",
            Effect.sync(() => {
              ran++
            })
          )
          yield* wq.queueWork(w)
          yield* wq.destroy
          if (ran !== 1) yield* Effect.die(new Error("destroy returned before the pending item ran"))
          yield* wq.queueWork(w)
        })
      )
      const { kinds, report } = exhaust(s)
      assert.deepStrictEqual(kinds, ["defect"])
      assert.match(report.counterexamples[0]!.finding.summary, /after destroy_workqueue: use-after-free/)
    })
  )

  it.effect("cancel_work_sync removes a pending item, and waits for a running one", () =>
    Effect.sync(() => {
      const outcomes = new Set<string>()
      const s = scenario(
        "cancel",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const wq = yield* Workqueue.make("wq")
          const running = yield* Atomic.make("running", 0)
          const w = Workqueue.work(
            "w",
            Effect.gen(function* () {
              yield* running.set(1)
              yield* running.set(0)
            })
          )
          yield* wq.queueWork(w)
          const wasPending = yield* wq.cancelWorkSync(w)
          if (running.peek() !== 0) yield* kernel.warn("cancel_work_sync returned while the item runs")
          outcomes.add(wasPending ? "cancelled" : "waited")
        })
      )
      const { kinds } = exhaust(s)
      assert.deepStrictEqual(kinds, [])
      assert.deepStrictEqual([...outcomes].sort(), ["cancelled", "waited"])
    })
  )

  it.effect("delayed work runs on the virtual clock", () =>
    Effect.sync(() => {
      const at: Array<number> = []
      const s = scenario(
        "delayed",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const wq = yield* Workqueue.make("wq")
          yield* wq.queueDelayedWork(
            Workqueue.work(
              "w",
              Effect.sync(() => void at.push(kernel.now()))
            ),
            1000
          )
          yield* Sched.msleep(5000)
          yield* wq.destroy
        })
      )
      const { kinds } = exhaust(s)
      assert.deepStrictEqual(kinds, [])
      assert.isTrue(at.length > 0 && at.every((t) => t === 1000))
    })
  )

  it.effect("flushing under a lock the item takes deadlocks, naming the drain and the cycle", () =>
    Effect.sync(() => {
      const s = scenario(
        "flush-under-lock",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          const wq = yield* Workqueue.make("wq")
          yield* wq.queueWork(Workqueue.work("w", Effect.andThen(m.lock, m.unlock)))
          yield* kernel.spawn(
            "remove",
            Effect.gen(function* () {
              yield* m.lock
              yield* wq.flush
              yield* m.unlock
            })
          )
        })
      )
      const { kinds, report } = exhaust(s)
      assert.deepStrictEqual(kinds, ["deadlock"])
      const p = report.counterexamples[0]!.finding.problem
      assert.strictEqual(p._tag, "Deadlock")
      if (p._tag !== "Deadlock") return
      assert.deepStrictEqual(
        p.cycle.map((e) => [e.task, e.resource, e.holder]),
        [
          ["wq-worker", "m", "remove"],
          ["remove", "wq", "wq-worker"]
        ]
      )
    })
  )
})

describe("mutex", () => {
  it.effect("unlock by a task that does not own it is a WARN", () =>
    Effect.sync(() => {
      const s = scenario(
        "bad-unlock",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          yield* m.lock
          // setup waits for `other`: ending while holding m is a finding of its own (lock held at exit).
          yield* kernel.join(yield* kernel.spawn("other", m.unlock))
        })
      )
      const { report } = exhaust(s, 0)
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.finding.summary),
        ["other: WARNING: mutex_unlock(m) by other, owner is setup"]
      )
    })
  )

  it.effect("lockdep_assert_held fails when the caller does not hold the lock", () =>
    Effect.sync(() => {
      const s = scenario(
        "assert",
        Effect.gen(function* () {
          const m = yield* Mutex.make("devlink")
          yield* m.assertHeld
        })
      )
      assert.deepStrictEqual(exhaust(s, 0).kinds, ["defect"])
    })
  )
})

describe("rw-semaphore", () => {
  it.effect("readers share; a recursive read behind a waiting writer deadlocks", () =>
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
      const { kinds, report } = exhaust(s)
      assert.deepStrictEqual(kinds, ["deadlock"])
      const p = report.counterexamples[0]!.finding.problem
      assert.isTrue(p._tag === "Deadlock" && p.blocked.some((b) => b.task === "reader" && b.waitKind === "rwsem-read"))
    })
  )
})

describe("completion, wait queue and time", () => {
  it.effect("wait_for_completion_timeout returns 0 exactly at the timeout", () =>
    Effect.sync(() => {
      const seen: Array<[number, number]> = []
      const s = scenario(
        "timeout",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const done = yield* Completion.make("done")
          const left = yield* done.waitTimeout(60)
          seen.push([left, kernel.now()])
        })
      )
      exhaust(s, 0)
      assert.deepStrictEqual(seen[0], [0, 60])
    })
  )

  it.effect("wait_event_timeout sees a condition set without wake_up only at the timeout", () =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const s = scenario(
        "no-wakeup",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const wq = yield* WaitQueue.make("wait")
          const flag = yield* Atomic.make("flag", 0)
          yield* kernel.spawn("setter", flag.set(1))
          const left = yield* wq.waitEventTimeout(() => flag.peek() === 1, "flag == 1", 60)
          seen.add(`${left}@${kernel.now()}`)
        })
      )
      exhaust(s)
      // Either the flag was already set at the first check, or it is noticed at the 60 ms timeout.
      assert.deepStrictEqual([...seen].sort(), ["1@60", "60@0"])
    })
  )

  it.effect("Effect.sleep in a model runs on the virtual clock", () =>
    Effect.sync(() => {
      const seen: Array<number> = []
      const s = scenario(
        "sleep",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          yield* Effect.sleep("2 seconds")
          seen.push(kernel.now())
        })
      )
      exhaust(s, 0)
      assert.deepStrictEqual(seen, [2000])
    })
  )
})

describe("livelock", () => {
  it.effect("a cond-read that nothing can satisfy is an endless spin naming the spinner", () =>
    Effect.sync(() => {
      const s = scenario(
        "spin",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const state = yield* Atomic.make("guard", 0, { lockLike: { held: (v) => v === 1 } })
          yield* kernel.spawn(
            "reentrant",
            Effect.gen(function* () {
              yield* state.cmpxchg(0, 1)
              yield* state.condRead((v) => v === 0, "== UNBLOCKED")
            })
          )
        })
      )
      const { report } = exhaust(s)
      const p = report.counterexamples[0]!.finding.problem
      assert.strictEqual(p._tag, "Livelock")
      if (p._tag !== "Livelock") return
      assert.strictEqual(p.reason, "endless-spin")
      assert.deepStrictEqual(
        p.spinning.map((b) => [b.task, b.resource, b.holds, b.holders]),
        [["reentrant", "guard", ["guard"], ["reentrant"]]]
      )
      assert.deepStrictEqual(p.cycle, [{ task: "reentrant", resource: "guard", holder: "reentrant" }])
    })
  )

  it.effect("a trylock loop against a lock that is never released is a no-progress livelock", () =>
    Effect.sync(() => {
      const s = scenario(
        "trylock-forever",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          const never = yield* Completion.make("never")
          yield* kernel.spawn("holder", Effect.andThen(m.lock, never.wait))
          yield* kernel.spawn(
            "spinner",
            Effect.gen(function* () {
              while (!(yield* m.trylock)) yield* Sched.condResched
            })
          )
        })
      )
      const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "random", schedules: 5, livelockBound: 100 })))
      const p = report.counterexamples.find((c) => c.kind === "livelock")?.finding.problem
      assert.isDefined(p)
      if (p?._tag !== "Livelock") return
      assert.strictEqual(p.reason, "no-progress")
      assert.deepStrictEqual(
        p.spinning.map((b) => b.task),
        ["spinner"]
      )
      assert.deepStrictEqual(
        p.blocked.map((b) => [b.task, b.op]),
        [["holder", "wait_for_completion(never)"]]
      )
    })
  )

  it.effect("a try that gives up and returns ends the retry streak: later work is progress", () =>
    Effect.sync(() => {
      const s = scenario(
        "give-up",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          const counter = yield* Atomic.make("counter", 0)
          yield* m.lock
          // Like mlx5_do_bond_work: trylock fails, the work gives up (requeues) and returns.
          yield* kernel.call("lag", "mlx5_do_bond_work", Effect.asVoid(m.trylock))
          for (let i = 0; i < 200; i++) yield* Atomic.inc(counter)
          yield* m.unlock
        })
      )
      const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "random", schedules: 3, livelockBound: 50 })))
      assert.deepStrictEqual(
        report.counterexamples.map((c) => c.kind),
        []
      )
    })
  )
})
