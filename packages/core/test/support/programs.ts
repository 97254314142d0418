/**
 * Small generated programs for the DPOR soundness tests: random mixes of
 * mutexes (blocking, nested, trylock), atomics (inc, read, set, cmpxchg and a
 * cmpxchg retry loop), kernel cells (plain and marked), workqueue items,
 * completions with timeouts, sleeps and data choices, over 2–4 tasks; with
 * `extended`, also RCU (read-side sections through an RCU pointer, updates
 * freeing the old object after synchronize_rcu or with kfree_rcu / call_rcu),
 * refcounts and ww_mutex acquisitions with back-off; with `spin`, retry loops;
 * with `waitq`, a wait queue: the merged esw_wq_handler's loop (generation
 * check, trylock, `wait_event_timeout` for a generation change), generation
 * bumps with `wake_up_all` (mlx5_eswitch_invalidate_wq), bare wakes and timed
 * waits. Each program records its
 * terminal state (what every task observed, and the final values) into a
 * collector, read through steps so that no invariant observes it.
 */

import type { Explorer } from "@drvmodel/core"
import { Atomic, Cell, Completion, Kernel, Mutex, Rcu, Refcount, Sched, Slab, WaitQueue, Workqueue, WwMutex } from "@drvmodel/core"
import { Effect } from "effect"

type Instr =
  | { readonly k: "locked"; readonly m: number; readonly body: ReadonlyArray<Instr> }
  | { readonly k: "trylock"; readonly m: number; readonly body: ReadonlyArray<Instr> }
  | { readonly k: "inc"; readonly a: number }
  | { readonly k: "read"; readonly a: number }
  | { readonly k: "set"; readonly a: number; readonly v: number }
  | { readonly k: "cmpxchg"; readonly a: number; readonly e: number; readonly n: number }
  | { readonly k: "casLoop"; readonly a: number }
  | { readonly k: "cellw"; readonly c: number; readonly v: number; readonly marked: boolean }
  | { readonly k: "cellr"; readonly c: number; readonly marked: boolean }
  | { readonly k: "queue"; readonly w: number }
  | { readonly k: "choose"; readonly l: Instr; readonly r: Instr }
  | { readonly k: "sleep" }
  | { readonly k: "complete" }
  | { readonly k: "waitTimeout" }
  | { readonly k: "rcuRead"; readonly keep: boolean }
  | { readonly k: "rcuUpdate"; readonly free: "synchronize" | "kfree_rcu" | "call_rcu" }
  | { readonly k: "ref"; readonly inc: boolean }
  | { readonly k: "ww"; readonly order: 0 | 1 }
  | { readonly k: "spinLock"; readonly m: number; readonly wait: boolean; readonly body: ReadonlyArray<Instr> }
  | { readonly k: "spinFlag"; readonly a: number }
  | { readonly k: "wqWorker"; readonly m: number; readonly a: number; readonly body: ReadonlyArray<Instr> }
  | { readonly k: "wqInvalidate"; readonly a: number }
  | { readonly k: "wqWake" }
  | { readonly k: "wqWait"; readonly a: number; readonly ms: number }

/** mulberry32: a tiny seeded generator (the test's own, not the explorer's). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const gen = (rnd: () => number, depth: number, extended = false, spin = false, waitq = false): Instr => {
  const int = (n: number) => Math.floor(rnd() * n)
  const kinds = depth > 0 ? 14 : 12
  // Wait-queue programs draw a wait-queue instruction half of the time: the merged worker's loop,
  // a generation bump with wake_up_all, a bare wake or a timed wait for a flag.
  if (waitq && rnd() < 0.5) {
    const r = rnd()
    if (r < 0.35) return { k: "wqWorker", m: int(2), a: int(2), body: [gen(rnd, 0)] }
    if (r < 0.6) return { k: "wqInvalidate", a: int(2) }
    if (r < 0.75) return { k: "wqWake" }
    return { k: "wqWait", a: int(2), ms: 1 + int(3) }
  }
  // Spin programs draw a retry loop half of the time: a devl_trylock loop (cond_resched, or a
  // timed wait as the merged esw_wq_handler) or a wait for a flag with cond_resched.
  if (spin && rnd() < 0.5) {
    if (rnd() < 0.6) return { k: "spinLock", m: int(2), wait: rnd() < 0.5, body: [gen(rnd, 0)] }
    return { k: "spinFlag", a: int(2) }
  }
  // Extended programs draw one of four more kinds half of the time (plain programs keep their streams).
  if (extended && rnd() < 0.5) {
    switch (int(4)) {
      case 0:
        return { k: "rcuRead", keep: rnd() < 0.5 }
      case 1:
        return { k: "rcuUpdate", free: (["synchronize", "kfree_rcu", "call_rcu"] as const)[int(3)]! }
      case 2:
        return { k: "ref", inc: rnd() < 0.5 }
      default:
        return { k: "ww", order: int(2) as 0 | 1 }
    }
  }
  switch (int(kinds)) {
    case 0:
      return { k: "inc", a: int(2) }
    case 1:
      return { k: "read", a: int(2) }
    case 2:
      return { k: "set", a: int(2), v: 1 + int(2) }
    case 3:
      return { k: "cmpxchg", a: int(2), e: int(2), n: 1 + int(2) }
    case 4:
      return { k: "casLoop", a: int(2) }
    case 5:
      return { k: "cellw", c: int(2), v: 1 + int(2), marked: rnd() < 0.5 }
    case 6:
      return { k: "cellr", c: int(2), marked: rnd() < 0.5 }
    case 7:
      return { k: "queue", w: int(2) }
    case 8:
      return { k: "sleep" }
    case 9:
      return { k: "complete" }
    case 10:
      return { k: "waitTimeout" }
    case 11:
      return { k: "choose", l: gen(rnd, 0), r: gen(rnd, 0) }
    case 12:
      return { k: "locked", m: int(2), body: Array.from({ length: 1 + int(2) }, () => gen(rnd, depth - 1, false, false, waitq)) }
    default:
      return { k: "trylock", m: int(2), body: [gen(rnd, 0)] }
  }
}

/** A generated program: its scenario and the terminal states its runs reached. */
export interface Generated {
  readonly scenario: Explorer.Scenario
  readonly terminal: Set<string>
  readonly text: string
}

/**
 * The program of one seed: 2–4 tasks, fewer instructions the more tasks.
 *
 * @example
 * ```ts
 * const p = program(1)
 * ```
 */
export const program = (
  seed: number,
  options?: { readonly extended?: boolean; readonly spin?: boolean; readonly waitq?: boolean }
): Generated => {
  const extended = options?.extended === true
  const spin = options?.spin === true
  const waitq = options?.waitq === true
  const rnd = prng(seed)
  // Extended programs have two tasks: their instructions take more steps (grace periods, back-off).
  const tasks = extended ? 2 : 2 + Math.floor(rnd() * 3)
  const length = tasks === 2 ? 1 + Math.floor(rnd() * (extended ? 2 : 3)) : tasks === 3 ? 1 + Math.floor(rnd() * 2) : 1
  const bodies = Array.from({ length: tasks }, () => Array.from({ length }, () => gen(rnd, 1, extended, spin, waitq)))
  // Wait-queue programs: the first task starts as the merged worker (on M0, generation A0).
  // and half of the time the second bumps A0 and wakes the queue (mlx5_eswitch_invalidate_wq), under M0 or not.
  if (waitq) {
    bodies[0]![0] = { k: "wqWorker", m: 0, a: 0, body: rnd() < 0.5 ? [] : [gen(rnd, 0)] }
    const bump: Instr = { k: "wqInvalidate", a: 0 }
    if (rnd() < 0.5) bodies[1]![bodies[1]!.length - 1] = rnd() < 0.5 ? bump : { k: "locked", m: 0, body: [gen(rnd, 0), bump] }
  }
  const uses = (k: string) => JSON.stringify(bodies).includes(`"${k}"`)
  const usesQueue = JSON.stringify(bodies).includes('"queue"')
  const concurrent = rnd() < 0.5
  const terminal = new Set<string>()
  const text = bodies.map((b, i) => `t${i}: ${JSON.stringify(b)}`).join("\n")
  const scenario: Explorer.Scenario = {
    name: `generated-${seed}`,
    description: text,
    program: Effect.gen(function* () {
      const kernel = yield* Kernel
      const locks = [yield* Mutex.make("M0"), yield* Mutex.make("M1")]
      const atomics = [yield* Atomic.make("A0", 0), yield* Atomic.make("A1", 0)]
      const cells = [yield* Cell.make("C0", 0), yield* Cell.make("C1", 0)]
      const done = yield* Completion.make("X")
      const q = uses("wqWorker") || uses("wqWait") || uses("wqWake") || uses("wqInvalidate") ? yield* WaitQueue.make("Q") : undefined
      const wq = usesQueue ? yield* Workqueue.make("wq", { maxActive: concurrent ? 2 : 1 }) : undefined
      const works = [0, 1].map((w) => Workqueue.work(`work${w}`, Effect.asVoid(Atomic.inc(atomics[w]!))))
      const logs: Array<Array<string>> = bodies.map(() => [])
      // RCU, refcount and ww_mutex state, made only when a program uses them (a domain spawns its
      // callback task).
      const rcu = uses("rcuRead") || uses("rcuUpdate") ? yield* Rcu.make() : undefined
      let objects = 0
      const ptr = rcu === undefined ? undefined : yield* rcu.pointer("P", yield* Slab.kmalloc(`obj${objects++}`, 0))
      const refs = uses("ref") ? yield* Refcount.make("R", 4) : undefined
      const ww = uses("ww") ? yield* WwMutex.wdClass("W") : undefined
      const wws = ww === undefined ? [] : [yield* ww.mutex("W0"), yield* ww.mutex("W1")]
      const run = (log: Array<string>, i: Instr): Effect.Effect<void, never, Kernel> =>
        Effect.gen(function* () {
          switch (i.k) {
            case "locked": {
              yield* locks[i.m]!.lock
              for (const b of i.body) yield* run(log, b)
              yield* locks[i.m]!.unlock
              return
            }
            case "trylock": {
              if (yield* locks[i.m]!.trylock) {
                for (const b of i.body) yield* run(log, b)
                yield* locks[i.m]!.unlock
              } else log.push("busy")
              return
            }
            case "inc":
              yield* Atomic.inc(atomics[i.a]!)
              return
            case "read":
              log.push(`A${i.a}=${yield* atomics[i.a]!.read}`)
              return
            case "set":
              yield* atomics[i.a]!.set(i.v)
              return
            case "cmpxchg":
              log.push(`cx=${yield* atomics[i.a]!.cmpxchg(i.e, i.n)}`)
              return
            case "casLoop": {
              let v = yield* atomics[i.a]!.read
              for (let n = 0; n < 6; n++) {
                const old = yield* atomics[i.a]!.cmpxchg(v, v + 1)
                if (old === v) return
                v = old
              }
              log.push("gave up")
              return
            }
            case "cellw":
              yield* i.marked ? cells[i.c]!.writeOnce(i.v) : cells[i.c]!.set(i.v)
              return
            case "cellr":
              log.push(`C${i.c}=${yield* i.marked ? cells[i.c]!.readOnce : cells[i.c]!.get}`)
              return
            case "queue":
              log.push(`q=${yield* wq!.queueWork(works[i.w]!)}`)
              return
            case "choose": {
              const branch = yield* kernel.choose("branch", 2)
              log.push(`b${branch}`)
              yield* run(log, branch === 0 ? i.l : i.r)
              return
            }
            case "sleep":
              yield* Sched.msleep(1)
              return
            case "complete":
              yield* done.complete
              return
            case "waitTimeout":
              log.push(`w=${yield* done.waitTimeout(2)}`)
              return
            case "rcuRead": {
              yield* rcu!.readLock
              const o = yield* ptr!.dereference
              log.push(`r=${o === null ? "null" : yield* o.read}`)
              yield* rcu!.readUnlock
              if (i.keep && o !== null) log.push(`kept=${yield* o.read}`)
              return
            }
            case "rcuUpdate": {
              // Updaters serialise on M0, as rcu_dereference_protected says.
              yield* locks[0]!.lock
              const old = yield* ptr!.dereferenceProtected(locks[0]!)
              const n = objects++
              yield* ptr!.assign(yield* Slab.kmalloc(`obj${n}`, n))
              yield* locks[0]!.unlock
              if (old === null) return
              if (i.free === "synchronize") {
                yield* rcu!.synchronize
                yield* Slab.kfree(old)
              } else if (i.free === "kfree_rcu") yield* rcu!.kfreeRcu(old)
              else yield* rcu!.callRcu("free_obj", Slab.kfree(old))
              return
            }
            case "spinLock": {
              // while (!devl_trylock()) cond_resched() (or a timed wait on X, as the merged worker)
              while (!(yield* locks[i.m]!.trylock)) {
                if (i.wait) log.push(`w=${yield* done.waitTimeout(2)}`)
                else yield* Sched.condResched
              }
              for (const b of i.body) yield* run(log, b)
              yield* locks[i.m]!.unlock
              return
            }
            case "spinFlag": {
              for (let n = 0; n < 3; n++) {
                if ((yield* atomics[i.a]!.read) !== 0) {
                  log.push(`flag after ${n}`)
                  return
                }
                yield* Sched.condResched
              }
              log.push("no flag")
              return
            }
            case "wqWorker": {
              // esw_wq_handler (merged): stale once A changed; else devl_trylock, or sleep until
              // A changes (60 ms in the C; 2 here: time passes only when nothing else can run).
              while (true) {
                if ((yield* atomics[i.a]!.read) !== 0) {
                  log.push("stale")
                  return
                }
                if (yield* locks[i.m]!.trylock) break
                log.push(`w=${yield* q!.waitEventTimeout(() => atomics[i.a]!.peek() !== 0, "A != 0", 2)}`)
              }
              for (const b of i.body) yield* run(log, b)
              yield* locks[i.m]!.unlock
              return
            }
            case "wqInvalidate":
              // mlx5_eswitch_invalidate_wq: bump, then wake the waiters.
              yield* Atomic.inc(atomics[i.a]!)
              yield* q!.wakeUpAll
              return
            case "wqWake":
              yield* q!.wakeUpAll
              return
            case "wqWait":
              log.push(`q=${yield* q!.waitEventTimeout(() => atomics[i.a]!.peek() !== 0, "A != 0", i.ms)}`)
              return
            case "ref":
              if (i.inc) yield* refs!.inc
              else log.push(`last=${yield* refs!.decAndTest}`)
              return
            case "ww": {
              const ctx = yield* ww!.acquireInit(`ctx${log.length}`)
              const objs = i.order === 0 ? [wws[0]!, wws[1]!] : [wws[1]!, wws[0]!]
              let contended: WwMutex.WwMutex | undefined
              const taken: Array<WwMutex.WwMutex> = []
              for (let n = 0; n < objs.length; n++) {
                const o = objs[n]!
                if (o === contended) continue
                if ((yield* o.lock(ctx)) === 0) {
                  taken.push(o)
                  continue
                }
                log.push("edeadlk")
                for (const t of taken.splice(0)) yield* t.unlock
                yield* o.lockSlow(ctx)
                taken.push(o)
                contended = o
                n = -1
              }
              yield* ctx.done
              for (const t of taken.splice(0)) yield* t.unlock
              yield* ctx.fini
              return
            }
          }
        })
      const handles = []
      for (const [t, body] of bodies.entries()) {
        handles.push(
          yield* kernel.spawn(
            `t${t}`,
            Effect.gen(function* () {
              for (const i of body) yield* run(logs[t]!, i)
            })
          )
        )
      }
      for (const h of handles) yield* kernel.join(h)
      if (wq !== undefined) yield* wq.destroy
      // Extended programs read the final values without points (every task has been joined, so
      // nothing can change them): fewer steps to interleave.
      const values = extended
        ? [atomics[0]!.peek(), atomics[1]!.peek(), cells[0]!.peek(), cells[1]!.peek(), refs?.peek() ?? 0]
        : [yield* atomics[0]!.read, yield* atomics[1]!.read, yield* cells[0]!.readOnce, yield* cells[1]!.readOnce]
      terminal.add(JSON.stringify({ values, logs }))
    })
  }
  return { scenario, terminal, text }
}
