import {
  type Access,
  Atomic,
  Completion,
  Explorer,
  Irq,
  Kernel,
  Mutex,
  type OpObserver,
  Rcu,
  Refcount,
  RwLock,
  RwSemaphore,
  type Scenario,
  Sched,
  Slab,
  Spinlock,
  WaitQueue,
  Workqueue,
  WwMutex
} from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

/** Every applied op's name with its footprint (after its result), over a DFS of the scenario. */
const footprints = (program: Scenario["program"], preemptions = 2) => {
  const seen = new Map<string, Set<string>>()
  const observer: OpObserver = {
    onOp: ({ op }) => {
      const fp = op.footprint
      // The observer sees the op but not its result: a result-dependent footprint is checked below.
      const shown =
        fp === undefined ? "none" : typeof fp === "function" ? "by-result" : fp.map((a: Access) => `${a.mode}:${a.key}`).join(",")
      const set = seen.get(op.label) ?? new Set<string>()
      set.add(shown)
      seen.set(op.label, set)
    }
  }
  const report = Effect.runSync(
    Explorer.explore({ name: "fp", description: "fp", program }, Explorer.options({ strategy: "dfs", preemptions, schedules: 5_000 }), {
      observers: [observer]
    })
  )
  assert.deepStrictEqual(
    report.counterexamples.map((c) => c.finding.summary),
    []
  )
  return seen
}

describe("footprints", () => {
  it.effect("every operation of every primitive declares what it touches", () =>
    Effect.sync(() => {
      const seen = footprints(
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          const s = yield* RwSemaphore.make("s")
          const a = yield* Atomic.make("a", 0)
          const c = yield* Completion.make("c")
          const q = yield* WaitQueue.make("q")
          const wq = yield* Workqueue.make("wq")
          const w = Workqueue.work("w", Effect.void)
          const rcu = yield* Rcu.make()
          const p = yield* rcu.pointer("p", yield* Slab.kmalloc("o1", 1))
          const other = yield* kernel.spawn(
            "other",
            Effect.gen(function* () {
              yield* s.downWrite
              yield* s.upWrite
              yield* Atomic.inc(a)
              yield* q.wakeUpAll
              yield* c.complete
              yield* c.completeAll
              yield* rcu.readLock
              const o = yield* p.dereference
              if (o !== null) yield* o.read
              yield* rcu.readUnlock
            })
          )
          yield* m.lock
          yield* m.assertHeld
          yield* m.unlock
          if (yield* m.trylock) yield* m.unlock
          yield* s.downRead
          yield* s.upRead
          if (yield* s.downReadTrylock) yield* s.upRead
          if (yield* s.downWriteTrylock) yield* s.upWrite
          yield* a.read
          yield* a.cmpxchg(0, 1)
          yield* a.condRead((n) => n >= 0, "n >= 0")
          yield* a.set(2)
          yield* q.waitEventTimeout(() => a.peek() > 0, "a > 0", 10)
          yield* c.waitTimeout(5)
          yield* c.wait
          yield* wq.queueWork(w)
          yield* wq.flushWork(w)
          yield* wq.queueWork(w)
          yield* wq.flush
          yield* wq.cancelWorkSync(w)
          yield* Sched.condResched
          yield* Sched.msleep(1)
          yield* kernel.join(other)
          yield* wq.destroy
          const old = p.peek()!
          yield* p.assign(yield* Slab.kmalloc("o2", 2))
          yield* rcu.synchronize
          yield* rcu.callRcu("cb", Effect.void)
          yield* rcu.kfreeRcu(old)
          yield* rcu.barrier
          yield* m.lock
          yield* p.dereferenceProtected(m)
          yield* m.unlock
          yield* p.accessPointer
          const r = yield* Refcount.make("r", 0)
          yield* r.incNotZero
          yield* r.set(1)
          yield* r.incNotZero
          yield* r.inc
          yield* r.add(1)
          yield* r.read
          yield* r.dec
          yield* r.decAndTest
          yield* r.decAndTest
          const cls = yield* WwMutex.wdClass("ww")
          const wa = yield* cls.mutex("wa")
          const wb = yield* cls.mutex("wb")
          const ctx = yield* cls.acquireInit("ctx")
          yield* wa.lock(ctx)
          yield* wa.lock(ctx)
          yield* wb.trylock(ctx)
          yield* wb.unlock
          yield* wa.unlock
          yield* ctx.done
          yield* ctx.fini
          const k = yield* Refcount.kref("k", Effect.void)
          yield* k.get
          yield* k.getUnlessZero
          yield* k.read
          yield* k.put
          yield* k.put
          yield* k.put
        }),
        1
      )
      const missing = [...seen].filter(([, fps]) => fps.has("none")).map(([label]) => label)
      assert.deepStrictEqual(missing, [])
      // Spot checks of the rule: lock operations write the lock; a join reads the task.
      assert.deepStrictEqual([...seen.get("mutex_lock(m)")!], ["write:m"])
      for (const l of ["worker_thread(wq)", "work_done(wq, w)", "flush_work(w)", "destroy_workqueue(wq) done", "down_write(s) wait"]) {
        assert.ok(seen.has(l), l)
      }
      assert.deepStrictEqual([...seen.get("join(other)")!], ["read:task:other"])
      // ww_mutex_lock_slow is ww_mutex_lock's op under another name (it needs a -EDEADLK first).
      for (const l of ["ww_mutex_lock(wa, ctx)", "ww_mutex_trylock(wb, ctx)", "ww_acquire_fini(ctx)"]) assert.ok(seen.has(l), l)
      for (const l of ["refcount_inc_not_zero(r)", "refcount_dec_and_test(r)", "kref_put(k)", "kref_get_unless_zero(k)"])
        assert.ok(seen.has(l), l)
      for (const l of [
        "synchronize_rcu() wait",
        "rcu_barrier() wait",
        "rcu_core()",
        "rcu_core() done",
        "kfree_rcu(o1)",
        "rcu_read_lock()"
      ]) {
        assert.ok(seen.has(l), l)
      }
      assert.ok(seen.has("down_write(s)"))
    })
  )

  it.effect("every operation of the spinlock, the rwlock and the interrupt calls declares what it touches", () =>
    Effect.sync(() => {
      const seen = footprints(
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const l = yield* Spinlock.make("l")
          const rw = yield* RwLock.make("rw")
          const other = yield* kernel.spawn(
            "other",
            Effect.gen(function* () {
              yield* l.lock
              yield* l.unlock
              yield* rw.writeLock
              yield* rw.writeUnlock
              yield* rw.readLock
              yield* rw.readUnlock
            }),
            { cpu: 1 }
          )
          yield* Irq.raise("irq", { cpu: 0 }, Effect.all([l.lock, l.unlock, rw.readLock, rw.readUnlock]))
          const f = yield* l.lockIrqsave
          yield* l.assertHeld
          yield* l.unlockIrqrestore(f)
          yield* l.lockIrq
          yield* l.unlockIrq
          yield* l.lockBh
          yield* l.unlockBh
          if (yield* l.trylock) yield* l.unlock
          const g = yield* rw.readLockIrqsave
          yield* rw.readUnlockIrqrestore(g)
          const h = yield* rw.writeLockIrqsave
          yield* rw.writeUnlockIrqrestore(h)
          yield* Effect.all([rw.readLockIrq, rw.readUnlockIrq, rw.writeLockIrq, rw.writeUnlockIrq])
          yield* Effect.all([rw.readLockBh, rw.readUnlockBh, rw.writeLockBh, rw.writeUnlockBh])
          if (yield* rw.readTrylock) yield* rw.readUnlock
          if (yield* rw.writeTrylock) yield* rw.writeUnlock
          yield* Irq.localIrqDisable
          yield* Irq.localIrqEnable
          yield* Effect.flatMap(Irq.localIrqSave, Irq.localIrqRestore)
          yield* Irq.localBhDisable
          yield* Irq.localBhEnable
          yield* kernel.join(other)
        }),
        1
      )
      const missing = [...seen].filter(([, fps]) => fps.has("none")).map(([label]) => label)
      assert.deepStrictEqual(missing, [])
      for (const l of ["spin_lock(l) spin", "write_lock(rw) spin", "read_lock(rw)", "spin_unlock_bh(l)", "local_irq_save"])
        assert.ok(seen.has(l), l)
    })
  )

  it.effect("a failed trylock or cmpxchg reads", () =>
    Effect.sync(() => {
      const out: Array<string> = []
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const m = yield* Mutex.make("m")
        const a = yield* Atomic.make("a", 0)
        yield* m.lock
        const t = yield* kernel.spawn(
          "t",
          Effect.gen(function* () {
            out.push(`trylock=${yield* m.trylock}`)
            out.push(`cmpxchg=${yield* a.cmpxchg(1, 2)}`)
          })
        )
        // setup must not end holding m (that is a finding of its own).
        yield* kernel.join(t)
        yield* m.unlock
      })
      const observer: OpObserver = {
        onOp: ({ op, task }) => {
          if (task !== "t" || typeof op.footprint !== "function") return
          // Both ops fail here (the mutex is held, the atomic is 0): their footprint is a read.
          const r = op.name === "mutex_trylock" ? false : { value: 0, t: "none" }
          out.push(
            `${op.name}:${(op.footprint as (a: unknown) => ReadonlyArray<Access>)(r)
              .map((x) => `${x.mode}:${x.key}`)
              .join(",")}`
          )
        }
      }
      Effect.runSync(
        Explorer.explore({ name: "t", description: "t", program }, Explorer.options({ strategy: "dfs", preemptions: 0, schedules: 1 }), {
          observers: [observer]
        })
      )
      assert.includeMembers(out, ["mutex_trylock:read:m", "atomic_cmpxchg:read:a", "trylock=false", "cmpxchg=0"])
    })
  )
})
