import { Atomic, Explorer, Kernel, LockOrder, Mutex, RwSemaphore, type Scenario, Workqueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { abba, abbaFixed } from "../../../examples/classic/abba.ts"

/** Each edge as [from, to, task-base, via]. */
const edgesOf = (c: LockOrder.LockOrderCycle) => c.edges.map((e) => [e.from, e.to, e.task.replace(/\/\d+$/, ""), e.via])
const classSets = (r: LockOrder.LockOrderResult) => r.cycles.map((c) => [...c.classes].sort())

const M = "&dev->lock"
const WQ = "(wq_completion)wq"
const WORK = "(work_completion)(dev_work)"

type Wait = "flush" | "destroy" | "cancel" | "flushWork"

/**
 * remove() waits for the queue (or the item) with dev->lock held, or after
 * dropping it (`unlockFirst`); the item takes dev->lock unless `itemLocks` is
 * false. An irq queues the item.
 */
const waitUnderLock = (o: { wait: Wait; maxActive: number; unlockFirst?: boolean; itemLocks?: boolean }): Scenario => ({
  name: `${o.wait}-under-lock/${o.maxActive}`,
  description: "remove() waits for work that takes the lock it holds",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const lock = yield* Mutex.make("dev->lock", { lockClass: M })
    const wq = yield* Workqueue.make("wq", { maxActive: o.maxActive })
    const item = Workqueue.work(
      "dev_work",
      kernel.call("dev", "dev_work", o.itemLocks === false ? Effect.void : Effect.andThen(lock.lock, lock.unlock))
    )
    const wait = {
      flush: wq.flush,
      destroy: wq.destroy,
      cancel: Effect.asVoid(wq.cancelWorkSync(item)),
      flushWork: Effect.asVoid(wq.flushWork(item))
    }[o.wait]
    yield* kernel.spawn("irq", kernel.call("dev", "dev_irq", Effect.asVoid(wq.queueWork(item))))
    yield* kernel.spawn(
      "remove",
      kernel.call(
        "dev",
        "dev_remove",
        o.unlockFirst
          ? Effect.andThen(Effect.andThen(lock.lock, lock.unlock), wait)
          : Effect.andThen(Effect.andThen(lock.lock, wait), lock.unlock)
      )
    )
  })
})

describe("lock-order analysis", () => {
  it.effect("ABBA: one benign run reports the cycle with both edges; confirm() finds the deadlock", () =>
    Effect.sync(() => {
      const r = Effect.runSync(LockOrder.analyzeOnce(abba))
      assert.deepStrictEqual(r.outcomes, { finished: 1 })
      assert.strictEqual(r.runs, 1)
      assert.strictEqual(r.cycles.length, 1)
      const c = r.cycles[0]!
      assert.deepStrictEqual(c.classes, ["&a->lock", "&b->lock"])
      assert.deepStrictEqual(
        c.edges.map((e) => [e.from, e.to, e.task, e.op, e.held.op, e.type]),
        [
          ["&a->lock", "&b->lock", "thread-1", "mutex_lock(B)", "mutex_lock(A)", "EN"],
          ["&b->lock", "&a->lock", "thread-2", "mutex_lock(A)", "mutex_lock(B)", "EN"]
        ]
      )
      assert.isTrue(c.confirmed)
      assert.strictEqual(c.status, "confirmed")
      const cx = c.counterexample!
      assert.strictEqual(cx.kind, "deadlock")
      assert.strictEqual(cx.strategy, "targeted")
      // The counterexample replays to the same deadlock.
      const replayed = Effect.runSync(Explorer.replay(abba, cx.schedule))
      assert.strictEqual(replayed.outcome._tag, "Found")
      if (replayed.outcome._tag === "Found") assert.strictEqual(replayed.outcome.finding.summary, cx.finding.summary)
      // Analysing the deadlocking schedule itself shows the same cycle, though neither second lock is
      // ever acquired: lockdep checks an acquisition when it is requested, before it waits (issue 10).
      const onDeadlock = Effect.runSync(LockOrder.analyzeOnce(abba, { schedule: cx.schedule, confirm: false }))
      assert.deepStrictEqual(onDeadlock.outcomes, { deadlock: 1 })
      assert.deepStrictEqual(classSets(onDeadlock), [["&a->lock", "&b->lock"]])
      // Serialises for report/matrix.json and back.
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(LockOrder.LockOrderResult)(r)))
      assert.deepStrictEqual(Schema.decodeUnknownSync(LockOrder.LockOrderResult)(json).cycles[0]!.classes, c.classes)
      // The text report names both tasks and the n-lane scenario.
      const text = LockOrder.render(r)
      assert.include(text, "possible circular locking dependency: &a->lock -> &b->lock -> &a->lock  [confirmed]")
      assert.include(text, "*** DEADLOCK ***")
      assert.match(text, /thread-1 +thread-2/)
    })
  )

  it.effect("ABBA fixed (one lock order): nothing reported, once or over an exploration", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(Effect.runSync(LockOrder.analyzeOnce(abbaFixed)).cycles, [])
      const r = Effect.runSync(LockOrder.analyze(abbaFixed, { explore: { strategy: "dfs", preemptions: 2 } }))
      assert.isAbove(r.runs, 1)
      assert.deepStrictEqual(r.cycles, [])
    })
  )

  for (const maxActive of [1, 4]) {
    for (const wait of ["flush", "destroy"] as const) {
      it.effect(`${wait} under the lock the item takes (max_active ${maxActive}): reported from one benign run, confirmed`, () =>
        Effect.sync(() => {
          const s = waitUnderLock({ wait, maxActive })
          const r = Effect.runSync(LockOrder.analyzeOnce(s))
          assert.deepStrictEqual(r.outcomes, { finished: 1 })
          assert.deepStrictEqual(classSets(r), [[M, WQ].sort()])
          assert.deepStrictEqual(edgesOf(r.cycles[0]!), [
            [WQ, M, "wq-worker", "acquire"],
            [M, WQ, "remove", "touch"]
          ])
          assert.strictEqual(r.cycles[0]!.edges[1]!.func, "dev_remove")
          assert.strictEqual(r.cycles[0]!.edges[0]!.func, "dev_work")
          assert.isTrue(r.cycles[0]!.confirmed, LockOrder.render(r))
          assert.strictEqual(r.cycles[0]!.counterexample!.kind, "deadlock")
        })
      )
    }
    it.effect(`cancel_work_sync under the lock the item takes (max_active ${maxActive}): reported, confirmed`, () =>
      Effect.sync(() => {
        const r = Effect.runSync(LockOrder.analyzeOnce(waitUnderLock({ wait: "cancel", maxActive })))
        assert.deepStrictEqual(r.outcomes, { finished: 1 })
        assert.deepStrictEqual(classSets(r), [[M, WORK].sort()])
        assert.deepStrictEqual(edgesOf(r.cycles[0]!), [
          [WORK, M, "wq-worker", "acquire"],
          [M, WORK, "remove", "touch"]
        ])
        assert.isTrue(r.cycles[0]!.confirmed, LockOrder.render(r))
      })
    )
    it.effect(`fixed versions (max_active ${maxActive}): wait after unlocking, or an item that does not lock: nothing`, () =>
      Effect.sync(() => {
        for (const wait of ["flush", "destroy", "cancel", "flushWork"] as const) {
          for (const fix of [{ unlockFirst: true }, { itemLocks: false }]) {
            const s = waitUnderLock({ wait, maxActive, ...fix })
            assert.deepStrictEqual(
              Effect.runSync(LockOrder.analyzeOnce(s, { confirm: false })).cycles,
              [],
              `${wait} ${JSON.stringify(fix)}`
            )
            const explored = Effect.runSync(LockOrder.analyze(s, { confirm: false, explore: { schedules: 100 } }))
            assert.deepStrictEqual(explored.cycles, [], `${wait} ${JSON.stringify(fix)} explored`)
          }
        }
      })
    )
  }

  it.effect("flush_work under the lock: via the item's class on both queues, via the queue only when ordered", () =>
    Effect.sync(() => {
      const ordered = Effect.runSync(LockOrder.analyzeOnce(waitUnderLock({ wait: "flushWork", maxActive: 1 }), { confirm: false }))
      assert.deepStrictEqual(classSets(ordered).map(String).sort(), [[M, WQ].sort(), [M, WORK].sort()].map(String).sort())
      // Concurrent queue: the queue is touched as a recursive read, the worker holds it as a read:
      // M -(ER)-> wq -(SN)-> M is not a strong cycle; the item's class still closes one.
      const concurrent = Effect.runSync(LockOrder.analyzeOnce(waitUnderLock({ wait: "flushWork", maxActive: 4 }), { confirm: false }))
      assert.deepStrictEqual(classSets(concurrent), [[M, WORK].sort()])
      assert.strictEqual(concurrent.cycles[0]!.status, "potential")
      assert.strictEqual(concurrent.cycles[0]!.tried.runs, 0)
    })
  )

  it.effect("flushing a sibling item from an item: recursive on an ordered queue (and deadlocks), legitimate on a concurrent one", () =>
    Effect.sync(() => {
      const sibling = (maxActive: number): Scenario => ({
        name: `flush-sibling/${maxActive}`,
        description: "an item flushes another item of its own queue",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const wq = yield* Workqueue.make("wq", { maxActive })
          const second = Workqueue.work("second", Effect.void)
          const first = Workqueue.work("first", Effect.asVoid(wq.flushWork(second)))
          yield* kernel.spawn("producer", Effect.andThen(wq.queueWork(first), wq.queueWork(second)))
        })
      })
      const ordered = Effect.runSync(LockOrder.analyze(sibling(1), { explore: { strategy: "dfs" } }))
      const recursive = ordered.cycles.filter((c) => c.kind === "recursive")
      assert.deepStrictEqual(
        recursive.map((c) => c.classes),
        [[WQ]]
      )
      assert.isTrue(recursive[0]!.confirmed, LockOrder.render(ordered))
      assert.strictEqual(recursive[0]!.counterexample!.kind, "deadlock")
      const concurrent = Effect.runSync(LockOrder.analyze(sibling(4), { explore: { strategy: "dfs" } }))
      assert.deepStrictEqual(concurrent.cycles, [])
      assert.deepStrictEqual(Object.keys(concurrent.outcomes), ["finished"])
    })
  )

  it.effect("trylock: no dependency on the held locks, but later acquisitions depend on it", () =>
    Effect.sync(() => {
      const scenario = (tryFirst: boolean): Scenario => ({
        name: tryFirst ? "trylock-then-lock" : "lock-then-trylock",
        description: "thread-1 uses mutex_trylock(B); thread-2 takes B then A",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const a = yield* Mutex.make("A", { lockClass: "&a->lock" })
          const b = yield* Mutex.make("B", { lockClass: "&b->lock" })
          const t1 = tryFirst
            ? Effect.gen(function* () {
                if (yield* b.trylock) {
                  yield* a.lock
                  yield* a.unlock
                  yield* b.unlock
                }
              })
            : Effect.gen(function* () {
                yield* a.lock
                if (yield* b.trylock) yield* b.unlock
                yield* a.unlock
              })
          yield* kernel.spawn("thread-1", t1)
          yield* kernel.spawn(
            "thread-2",
            Effect.gen(function* () {
              yield* a.lock
              yield* b.lock
              yield* b.unlock
              yield* a.unlock
            })
          )
        })
      })
      // lock(A); trylock(B) vs lock(A); lock(B): the trylock cannot block, no B dependency on A from it.
      const lockThenTry = Effect.runSync(LockOrder.analyzeOnce(scenario(false)))
      assert.deepStrictEqual(lockThenTry.cycles, [])
      assert.strictEqual(lockThenTry.dependencies, 1)
      // trylock(B); lock(A) vs lock(A); lock(B): B -> A (after the trylock) and A -> B: a real ABBA.
      const tryThenLock = Effect.runSync(LockOrder.analyzeOnce(scenario(true)))
      assert.deepStrictEqual(
        tryThenLock.cycles.map((c) => c.edges.map((e) => [e.from, e.to, e.task])),
        [
          [
            ["&b->lock", "&a->lock", "thread-1"],
            ["&a->lock", "&b->lock", "thread-2"]
          ]
        ]
      )
      assert.isTrue(tryThenLock.cycles[0]!.confirmed)
    })
  )

  it.effect("rw-semaphore: read vs write conflicts, a read cycle needs a waiting writer to deadlock", () =>
    Effect.sync(() => {
      const scenario = (t2Write: boolean, writer: boolean): Scenario => ({
        name: "rwsem-order",
        description: "reader takes S then M; thread-2 takes M then S",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const s = yield* RwSemaphore.make("S", { lockClass: "&sem" })
          const m = yield* Mutex.make("M", { lockClass: "&m" })
          yield* kernel.spawn(
            "reader",
            Effect.gen(function* () {
              yield* s.downRead
              yield* m.lock
              yield* m.unlock
              yield* s.upRead
            })
          )
          yield* kernel.spawn(
            "thread-2",
            Effect.gen(function* () {
              yield* m.lock
              yield* t2Write ? s.downWrite : s.downRead
              yield* t2Write ? s.upWrite : s.upRead
              yield* m.unlock
            })
          )
          if (writer) yield* kernel.spawn("writer", Effect.andThen(s.downWrite, s.upWrite))
        })
      })
      const rw = Effect.runSync(LockOrder.analyzeOnce(scenario(true, false)))
      assert.deepStrictEqual(
        rw.cycles.map((c) => c.edges.map((e) => [e.from, e.to, e.type])),
        [
          [
            ["&sem", "&m", "SN"],
            ["&m", "&sem", "EN"]
          ]
        ]
      )
      assert.isTrue(rw.cycles[0]!.confirmed)
      // down_read is a non-recursive read in lockdep: the cycle is reported, but with no writer
      // waiting on the semaphore the second reader never blocks, so nothing confirms it.
      const rr = Effect.runSync(LockOrder.analyzeOnce(scenario(false, false), { confirm: { runs: 50 } }))
      assert.deepStrictEqual(
        rr.cycles.map((c) => c.edges.map((e) => e.type)),
        [["SN", "EN"]]
      )
      assert.strictEqual(rr.cycles[0]!.status, "potential")
      assert.deepStrictEqual(rr.cycles[0]!.tried.runs, 50)
      assert.include(LockOrder.render(rr), "POTENTIAL: not reproduced by 50 targeted runs")
      // A writer queued on the semaphore blocks the second reader: now it deadlocks.
      const withWriter = Effect.runSync(LockOrder.analyzeOnce(scenario(false, true)))
      assert.strictEqual(withWriter.cycles.length, 1)
      assert.isTrue(withWriter.cycles[0]!.confirmed, LockOrder.render(withWriter))
    })
  )

  it.effect("the graph accumulates across runs: edges from different runs make a cycle one run never shows", () =>
    Effect.sync(() => {
      // One thread, two possible lock orders chosen by data: never a deadlock, but lockdep's graph has A->B and B->A.
      const oneThread: Scenario = {
        name: "one-thread-two-orders",
        description: "a single thread takes A,B or B,A",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const a = yield* Mutex.make("A", { lockClass: "&a->lock" })
          const b = yield* Mutex.make("B", { lockClass: "&b->lock" })
          yield* kernel.spawn(
            "thread",
            Effect.gen(function* () {
              const [x, y] = (yield* kernel.choose("order", 2)) === 0 ? [a, b] : [b, a]
              yield* x.lock
              yield* y.lock
              yield* y.unlock
              yield* x.unlock
            })
          )
        })
      }
      assert.deepStrictEqual(Effect.runSync(LockOrder.analyzeOnce(oneThread)).cycles, [])
      const r = Effect.runSync(LockOrder.analyze(oneThread, { explore: { strategy: "dfs" }, confirm: { runs: 40 } }))
      assert.strictEqual(r.runs, 2)
      assert.deepStrictEqual(classSets(r), [["&a->lock", "&b->lock"]])
      assert.deepStrictEqual(
        r.cycles[0]!.edges.map((e) => [e.task, e.run]),
        [
          ["thread", 0],
          ["thread", 1]
        ]
      )
      assert.strictEqual(r.cycles[0]!.status, "potential")
      assert.deepStrictEqual(r.cycles[0]!.tried.outcomes, { finished: 40 })
    })
  )

  it.effect("graphs of consecutive run ranges, appended in order, are the graph of one observer of every run", () =>
    Effect.sync(() => {
      // Twelve threads take two of three locks, in data-chosen pairs: more tasks per edge than an edge keeps (8).
      const crowd: Scenario = {
        name: "crowd",
        description: "twelve threads, three locks, two at a time",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const locks = [
            yield* Mutex.make("A", { lockClass: "&a->lock" }),
            yield* Mutex.make("B", { lockClass: "&b->lock" }),
            yield* Mutex.make("C", { lockClass: "&c->lock" })
          ]
          for (let t = 0; t < 12; t++) {
            yield* kernel.spawn(
              `t${t}`,
              Effect.gen(function* () {
                // One global order (A before B before C): no deadlock ends a run early.
                const [i, j] = (
                  [
                    [0, 1],
                    [0, 2],
                    [1, 2]
                  ] as const
                )[yield* kernel.choose("pair", 3)]!
                const x = locks[i]!
                const y = locks[j]!
                yield* x.lock
                yield* y.lock
                yield* y.unlock
                yield* x.unlock
              })
            )
          }
        })
      }
      const o = Explorer.options({ strategy: "random", schedules: 24, seed: 5 })
      const whole = LockOrder.observer()
      Effect.runSync(Explorer.explore(crowd, o, { observers: [whole] }))
      // The same runs, seen by a fresh observer for every 2 runs (a run starts at its step 0).
      const parts: Array<LockOrder.LockObserver> = []
      let runs = 0
      const switching = {
        onOp: (event: Parameters<LockOrder.LockObserver["onOp"]>[0]) => {
          if (event.step === 0 && runs++ % 2 === 0) parts.push(LockOrder.observer())
          parts.at(-1)!.onOp(event)
        }
      }
      Effect.runSync(Explorer.explore(crowd, o, { observers: [switching] }))
      assert.strictEqual(parts.length, 12)
      const merged = new LockOrder.LockGraph()
      for (const p of parts) merged.append(p.graph.toData())
      const full = whole.graph.dependencies().filter((d) => d.occurrences.length >= 8)
      assert.isAbove(full.length, 0, "some edge is full: the dropped-occurrence rule is exercised")
      assert.deepStrictEqual(JSON.parse(JSON.stringify(merged.toData())), JSON.parse(JSON.stringify(whole.graph.toData())))
      assert.deepStrictEqual(
        merged.dependencies().map((d) => [...d.types]),
        whole.graph.dependencies().map((d) => [...d.types])
      )
    })
  )

  it.effect("observer in any exploration: hooks.observers feeds the graph; runs and ops are counted", () =>
    Effect.sync(() => {
      const observer = LockOrder.observer()
      const report = Effect.runSync(
        Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 30 }), { observers: [observer] })
      )
      assert.strictEqual(observer.graph.runs, report.runs)
      assert.strictEqual(observer.graph.ops, report.steps)
      const cycles = LockOrder.cycles(observer.graph)
      assert.deepStrictEqual(
        cycles.map((c) => [...c.classes].sort()),
        [["&a->lock", "&b->lock"]]
      )
      const confirmation = Effect.runSync(LockOrder.confirm(abba, cycles[0]!, { runs: 10 }))
      assert.isTrue(confirmation.confirmed)
    })
  )

  it.effect("a lock-like atomic (the V1 reps guard) is a lock class: the cycle with a mutex is confirmed as an endless spin", () =>
    Effect.sync(() => {
      const guarded: Scenario = {
        name: "guard-vs-mutex",
        description: "thread-1 blocks the guard then takes M; thread-2 takes M then blocks the guard",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const guard = yield* Atomic.make("reps_conf_state", 0, { lockLike: { held: (v) => v === 1, lockClass: "reps_guard" } })
          const m = yield* Mutex.make("M", { lockClass: "&m" })
          // mlx5_esw_mark_reps(UNBLOCKED -> BLOCKED): spin until unblocked, then cmpxchg.
          const block = Effect.gen(function* () {
            while (true) {
              yield* guard.condRead((v) => v === 0, "UNBLOCKED")
              if ((yield* guard.cmpxchg(0, 1)) === 0) return
            }
          })
          const unblock = Effect.asVoid(guard.cmpxchg(1, 0))
          yield* kernel.spawn(
            "thread-1",
            Effect.gen(function* () {
              yield* block
              yield* m.lock
              yield* m.unlock
              yield* unblock
            })
          )
          yield* kernel.spawn(
            "thread-2",
            Effect.gen(function* () {
              yield* m.lock
              yield* block
              yield* unblock
              yield* m.unlock
            })
          )
        })
      }
      const r = Effect.runSync(LockOrder.analyzeOnce(guarded))
      assert.deepStrictEqual(r.outcomes, { finished: 1 })
      assert.deepStrictEqual(
        r.cycles.map((c) => c.edges.map((e) => [e.from, e.to, e.task, e.op])),
        [
          [
            ["reps_guard", "&m", "thread-1", "mutex_lock(M)"],
            ["&m", "reps_guard", "thread-2", "atomic_cmpxchg(reps_conf_state, 0, 1)"]
          ]
        ]
      )
      assert.isTrue(r.cycles[0]!.confirmed, LockOrder.render(r))
      assert.strictEqual(r.cycles[0]!.counterexample!.kind, "livelock")
    })
  )
})
