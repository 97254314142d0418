/**
 * RCU: read-side critical sections, grace periods, callbacks and
 * RCU-protected pointers (kernel/rcu/tree.c, include/linux/rcupdate.h).
 *
 * Kernel semantics followed:
 * - `rcu_read_lock()` / `rcu_read_unlock()` delimit a read-side critical
 *   section of the calling task; they nest, and only the outermost pair
 *   matters. Lockdep tracks the section as a recursive read of the
 *   `rcu_read_lock` map, so it is a held lock here too (class `rcu_read_lock`).
 * - `synchronize_rcu()` returns after a grace period: once every read-side
 *   section that had begun when it was called has ended. Sections that begin
 *   later do not delay it. It is two steps, as a flush is: the first records
 *   the sections it waits for, the second sleeps until they have ended. The
 *   explorer orders both against every reader's `rcu_read_lock` and
 *   `rcu_read_unlock`. Called inside a section it is lockdep's "suspicious RCU
 *   usage: Illegal synchronize_rcu() in RCU read-side critical section".
 * - Anything that may sleep inside a section (a mutex, a wait, msleep,
 *   cond_resched) is reported when it is reached, as `might_sleep()` /
 *   `rcu_sleep_check()` do: "suspicious RCU usage: Illegal context switch in
 *   RCU read-side critical section" (with PREEMPT_RCU the kernel's wording is
 *   "Voluntary context switch within RCU read-side critical section!", reported
 *   only when the task really schedules; the model reports every call).
 * - `call_rcu()` queues a callback that runs after a grace period (every
 *   section begun before the call has ended), on the domain's callback task
 *   (`rcu_core`, the kernel's RCU softirq / rcuo kthread), inside lockdep's
 *   `rcu_callback` map, in atomic context (it must not sleep). `kfree_rcu()` is
 *   a call_rcu whose callback frees the object. `rcu_barrier()` waits until
 *   every callback queued before it has run.
 * - `rcu_assign_pointer()` publishes a pointer (smp_store_release);
 *   `rcu_dereference()` loads it (a dependency-ordered load) and is
 *   lockdep's "suspicious rcu_dereference_check() usage!" outside a section;
 *   `rcu_dereference_protected(p, lockdep_is_held(lock))` is the update side's
 *   plain load, checked against the lock.
 * - A reader that reaches an object freed after the grace period its section
 *   did not cover (it kept the pointer past `rcu_read_unlock`), or freed with a
 *   plain `kfree` while it was still reading, gets KASAN's finding through the
 *   object (`Slab`): "use-after-free: <object> freed after grace period still
 *   reached by <task> in <function>".
 *
 * Inferred (the kernel promises less): a grace period may end at any step
 * after its last pre-existing reader leaves (the explorer picks when), never
 * earlier — the model never ends one early, and a real grace period can only
 * be longer. Ready callbacks run oldest first; the kernel orders callbacks
 * only per CPU.
 *
 * Footprints: a section's begin and end read the domain's key and write the
 * task's own key (`rcu:<task>`), so readers commute with each other;
 * `synchronize_rcu` and `call_rcu` write the domain's key (the set of sections
 * they wait for depends on every reader's order against them) and read every
 * reader's key (a section that ended before them happens before the grace
 * period's end: the race check orders its accesses before what follows);
 * a grace-period wait and the callback task read the keys of the readers they
 * wait for, which the readers' `rcu_read_unlock` writes (it is what enables them).
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type LockEvent, type Resource } from "../Kernel.ts"
import type { HeldLock } from "../Trace.ts"
import type { Obj } from "./Slab.ts"

/**
 * An RCU-protected pointer (`struct foo __rcu *p`) whose value is a slab
 * object or NULL. Unlike a `Cell`, its loads and stores are scheduling points
 * that synchronise (publish / subscribe), so a reader can be preempted between
 * fetching the pointer and using the object.
 *
 * @category models
 * @since 0.3.0
 */
export interface Pointer<A> {
  readonly key: string
  /** `rcu_assign_pointer(p, v)`: a store-release. */
  readonly assign: (value: Obj<A> | null) => Effect.Effect<void>
  /** `rcu_dereference(p)`: a load (acquire); a lockdep report outside a read-side section. */
  readonly dereference: Effect.Effect<Obj<A> | null>
  /**
   * `rcu_dereference_protected(p, lockdep_is_held(lock))`: the update side's plain load, under
   * `lock`; a lockdep report if the caller does not hold it.
   */
  readonly dereferenceProtected: (lock: Resource) => Effect.Effect<Obj<A> | null>
  /** `rcu_access_pointer(p)`: the value, not to be dereferenced (a NULL test). */
  readonly accessPointer: Effect.Effect<Obj<A> | null>
  /** The value, for invariants and probes (no scheduling point, not recorded). */
  readonly peek: () => Obj<A> | null
}

/**
 * An RCU domain: the kernel has one; a model makes it once per run.
 *
 * @category models
 * @since 0.3.0
 */
export interface Rcu extends Resource {
  /** `rcu_read_lock()` */
  readonly readLock: Effect.Effect<void>
  /** `rcu_read_unlock()`: lockdep's "bad unlock balance" outside a section. */
  readonly readUnlock: Effect.Effect<void>
  /** `synchronize_rcu()`: waits for a grace period. */
  readonly synchronize: Effect.Effect<void>
  /** `call_rcu(head, func)`: runs `fn` (named `name`) after a grace period, on the callback task. */
  readonly callRcu: (name: string, fn: Effect.Effect<void, unknown, Kernel>) => Effect.Effect<void>
  /** `kfree_rcu(obj, rcu)`: frees the object after a grace period. */
  readonly kfreeRcu: <A>(obj: Obj<A>) => Effect.Effect<void>
  /** `rcu_barrier()`: waits until every callback queued before it has run. */
  readonly barrier: Effect.Effect<void>
  /** `rcu_read_lock_held()` for the running task (no scheduling point). */
  readonly readLockHeld: () => boolean
  /** Declares an RCU-protected pointer (a kernel cell) holding `initial`. */
  readonly pointer: <A>(key: string, initial: Obj<A> | null) => Effect.Effect<Pointer<A>, never, Kernel>
  /** Callbacks queued and not yet run. */
  readonly pendingCallbacks: () => number
}

interface Reader {
  /** Nesting depth of rcu_read_lock. */
  depth: number
  /** Outermost sections begun so far: a grace period waits for the section of a given epoch. */
  epoch: number
}

/** A section a grace period waits for: the task, in the section of this epoch. */
type Waited = ReadonlyArray<readonly [string, number]>

interface Callback {
  readonly seq: number
  /** The callback function (`free_cfg_rcu`). */
  readonly name: string
  /** The queueing call (`call_rcu(free_cfg_rcu)`). */
  readonly label: string
  readonly fn: Effect.Effect<void, unknown, Kernel>
  readonly waits: Waited
}

/** The report made when a task in a read-side section reaches an operation that may sleep. */
const illegalSwitch = "WARNING: suspicious RCU usage: Illegal context switch in RCU read-side critical section"
/** The report made when an RCU callback reaches an operation that may sleep (it runs in softirq). */
const callbackSleeps = "BUG: sleeping function called from invalid context (an RCU callback runs in softirq)"

/**
 * Creates the RCU domain and its callback task (a daemon named `rcu_core`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Kernel, Rcu, Slab } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const kernel = yield* Kernel
 *   const rcu = yield* Rcu.make()
 *   const cfg = yield* rcu.pointer("dev->cfg", yield* Slab.kmalloc("cfg#1", 1500))
 *   yield* kernel.spawn("reader", Effect.gen(function*() {
 *     yield* rcu.readLock
 *     const c = yield* cfg.dereference
 *     if (c !== null) yield* c.read
 *     yield* rcu.readUnlock
 *   }))
 *   const old = cfg.peek()!
 *   yield* cfg.assign(yield* Slab.kmalloc("cfg#2", 9000))
 *   yield* rcu.synchronize
 *   yield* Slab.kfree(old)
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const make = (id = "rcu"): Effect.Effect<Rcu, never, Kernel> =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const readers = new Map<string, Reader>()
    const callbacks: Array<Callback> = []
    let invoking: Callback | undefined
    let seq = 0
    const fn = (name: string) => (id === "rcu" ? `${name}()` : `${name}(${id})`)
    const inSection = (task: string) => (readers.get(task)?.depth ?? 0) > 0
    const snapshot = (): Waited => [...readers].filter(([, r]) => r.depth > 0).map(([t, r]) => [t, r.epoch] as const)
    const ended = ([task, epoch]: readonly [string, number]) => {
      const r = readers.get(task)!
      return r.depth === 0 || r.epoch > epoch
    }
    const resource: Resource = {
      id,
      kind: "rcu",
      lockClass: "rcu_read_lock",
      holders: () => [...readers].filter(([, r]) => r.depth > 0).map(([t]) => t),
      state: () => {
        const inside = [...readers].filter(([, r]) => r.depth > 0).map(([t, r]) => (r.depth > 1 ? `${t}(${r.depth})` : t))
        return `readers: ${inside.length === 0 ? "none" : inside.join(", ")}; callbacks: ${callbacks.length}`
      }
    }
    kernel.register(resource)
    const domain: Access = { key: id, mode: "write" }
    const queueKey = `${id}:callbacks`
    const readerKey = (task: string) => `${id}:${task}`
    const waitKeys = (waits: Waited): Array<Access> => waits.map(([t]) => ({ key: readerKey(t), mode: "read" as const }))
    const section: HeldLock = { resource: id, lockClass: "rcu_read_lock", mode: "read", atomic: illegalSwitch }
    const sectionEvent = (type: "acquire" | "release"): ReadonlyArray<LockEvent> => [
      { type, lockClass: "rcu_read_lock", resource: id, mode: "recursive-read" }
    ]
    /** A resource for one wait: its holders are the readers it still waits for (deadlock reports). */
    const gracePeriod = (waits: Waited): Resource => ({
      ...resource,
      holders: () => waits.filter((w) => !ended(w)).map(([t]) => t)
    })

    const readLock = kernel.point<{ readonly task: string; readonly depth: number }>({
      name: "rcu_read_lock",
      label: fn("rcu_read_lock"),
      resource,
      apply: () => {
        const task = kernel.current()
        const r = readers.get(task) ?? { depth: 0, epoch: 0 }
        readers.set(task, r)
        if (r.depth === 0) r.epoch++
        r.depth++
        return { task, depth: r.depth }
      },
      show: (r) => `depth ${r.depth}`,
      footprint: (r) => [
        { key: id, mode: "read" },
        { key: readerKey(r.task), mode: "write" }
      ],
      holds: () => section,
      lockEvents: () => sectionEvent("acquire")
    })

    const readUnlock = Effect.flatMap(
      kernel.point<{ readonly task: string; readonly depth: number }>({
        name: "rcu_read_unlock",
        label: fn("rcu_read_unlock"),
        resource,
        apply: () => {
          const task = kernel.current()
          const r = readers.get(task)
          if (r === undefined || r.depth === 0) return { task, depth: -1 }
          r.depth--
          return { task, depth: r.depth }
        },
        show: (r) => (r.depth < 0 ? "unbalanced" : `depth ${r.depth}`),
        footprint: (r) => [
          { key: id, mode: "read" },
          { key: readerKey(r.task), mode: "write" }
        ],
        releases: (r) => (r.depth < 0 ? [] : [id]),
        lockEvents: (r) => (r.depth < 0 ? [] : sectionEvent("release"))
      }),
      (r) =>
        r.depth < 0
          ? kernel.warn(`bad unlock balance detected: ${fn("rcu_read_unlock")} by ${r.task} outside an RCU read-side critical section`)
          : Effect.void
    )

    /**
     * Waits (a second step) until every section in `waits` has ended. Taken even when there is
     * none: a grace period takes time, and sections may begin before synchronize_rcu returns.
     */
    const waitFor = (name: string, waits: Waited) =>
      kernel.point<void>({
        name,
        label: `${fn(name)} wait`,
        resource: gracePeriod(waits),
        waitKind: "rcu-grace-period",
        enabled: () => waits.every(ended),
        footprint: waitKeys(waits),
        apply: () => undefined
      })

    // Sections that ended before a grace period began happen before its end too (RCU's memory
    // ordering guarantee): the step that begins one reads every reader's key.
    const begin = (): Array<Access> => [domain, ...[...readers.keys()].map((t) => ({ key: readerKey(t), mode: "read" as const }))]

    const synchronize = Effect.flatMap(
      kernel.point<{ readonly waits: Waited; readonly illegal: boolean; readonly keys: ReadonlyArray<Access> }>({
        name: "synchronize_rcu",
        label: fn("synchronize_rcu"),
        resource,
        footprint: (r) => r.keys,
        apply: () => ({ waits: snapshot(), illegal: inSection(kernel.current()), keys: begin() }),
        show: (r) => (r.waits.length === 0 ? "no readers" : `waits for ${r.waits.map(([t]) => t).join(", ")}`)
      }),
      (r) =>
        r.illegal
          ? kernel.warn("suspicious RCU usage: Illegal synchronize_rcu() in RCU read-side critical section")
          : waitFor("synchronize_rcu", r.waits)
    )

    const queue = (name: string, label: string, callback: string, cb: Effect.Effect<void, unknown, Kernel>) =>
      kernel.point<ReadonlyArray<Access>>({
        name,
        label,
        resource,
        footprint: (keys) => keys,
        apply: () => {
          callbacks.push({ seq: seq++, name: callback, label, fn: cb, waits: snapshot() })
          return [...begin(), { key: queueKey, mode: "write" }]
        }
      })

    const barrier = Effect.flatMap(
      kernel.point<number>({
        name: "rcu_barrier",
        label: fn("rcu_barrier"),
        resource,
        footprint: [{ key: queueKey, mode: "write" }],
        apply: () => seq
      }),
      (upTo) => {
        const pending = () => callbacks.some((c) => c.seq < upTo) || (invoking !== undefined && invoking.seq < upTo)
        return pending()
          ? kernel.point<void>({
              name: "rcu_barrier",
              label: `${fn("rcu_barrier")} wait`,
              resource,
              waitKind: "rcu-barrier",
              enabled: () => !pending(),
              footprint: [{ key: queueKey, mode: "write" }],
              apply: () => undefined
            })
          : Effect.void
      }
    )

    // The callback task: takes the oldest callback whose grace period has ended and runs it in
    // rcu_do_batch, inside lockdep's rcu_callback map, in atomic (softirq) context.
    const callbackHeld: HeldLock = { resource: `${id}:callback`, lockClass: "rcu_callback", mode: "read", atomic: callbackSleeps }
    const core = Effect.gen(function* () {
      while (true) {
        const cb = yield* kernel.point<{ readonly cb: Callback; readonly keys: ReadonlyArray<Access> }>({
          name: "rcu_core",
          label: fn("rcu_core"),
          resource,
          idle: true,
          waitKind: "idle",
          enabled: () => callbacks.some((c) => c.waits.every(ended)),
          apply: () => {
            // Which callback is ready depends on every pending callback's readers: all are read.
            const keys: Array<Access> = [{ key: queueKey, mode: "write" }]
            for (const c of callbacks) keys.push(...waitKeys(c.waits))
            const i = callbacks.findIndex((c) => c.waits.every(ended))
            const [taken] = callbacks.splice(i, 1)
            invoking = taken
            return { cb: taken!, keys }
          },
          show: (r) => r.cb.label,
          footprint: (r) => r.keys,
          holds: () => callbackHeld,
          lockEvents: () => [{ type: "acquire", lockClass: "rcu_callback", resource: `${id}:callback`, mode: "recursive-read" }]
        })
        yield* kernel.call("rcu", "rcu_do_batch", kernel.call("rcu", cb.cb.name, cb.cb.fn))
        yield* kernel.point<void>({
          name: "rcu_core",
          label: `${fn("rcu_core")} done`,
          resource,
          releases: `${id}:callback`,
          footprint: [{ key: queueKey, mode: "write" }],
          apply: () => {
            invoking = undefined
          },
          lockEvents: () => [{ type: "release", lockClass: "rcu_callback", resource: `${id}:callback`, mode: "recursive-read" }]
        })
      }
    })
    yield* kernel.spawn(id === "rcu" ? "rcu_core" : `${id}-rcu_core`, core, { daemon: true })

    const running = () => kernel.running() ?? "setup"
    return {
      ...resource,
      readLock,
      readUnlock,
      synchronize,
      callRcu: (name, cb) => queue("call_rcu", `call_rcu(${name})`, name, cb),
      kfreeRcu: (obj) => queue("kfree_rcu", `kfree_rcu(${obj.name})`, "kfree", obj.free("after grace period")),
      barrier,
      readLockHeld: () => inSection(running()),
      pendingCallbacks: () => callbacks.length + (invoking === undefined ? 0 : 1),
      pointer: <A>(key: string, initial: Obj<A> | null) =>
        Effect.sync((): Pointer<A> => {
          // The pointer's loads and stores are points: rcu_assign_pointer is a release and
          // rcu_dereference an acquire of the pointer, so what the updater wrote into the new
          // object before publishing it happens before what a reader reads through it.
          let value = initial
          kernel.probe(key, () => (value === null ? "NULL" : value.name))
          const show = (o: Obj<A> | null) => (o === null ? "NULL" : o.name)
          const load = (name: string, label: string) =>
            kernel.point<{ readonly task: string; readonly value: Obj<A> | null }>({
              name,
              label,
              footprint: [{ key, mode: "read" }],
              apply: () => ({ task: kernel.current(), value }),
              show: (r) => show(r.value)
            })
          return {
            key,
            assign: (next) =>
              kernel.point<void>({
                name: "rcu_assign_pointer",
                label: `rcu_assign_pointer(${key}, ${show(next)})`,
                footprint: [{ key, mode: "write" }],
                apply: () => {
                  value = next
                }
              }),
            dereference: Effect.flatMap(load("rcu_dereference", `rcu_dereference(${key})`), (r) =>
              inSection(r.task)
                ? Effect.succeed(r.value)
                : Effect.as(
                    kernel.warn(
                      `suspicious RCU usage: suspicious rcu_dereference_check() usage! (rcu_dereference(${key}) outside an RCU read-side critical section)`
                    ),
                    r.value
                  )
            ),
            dereferenceProtected: (lock) =>
              Effect.flatMap(load("rcu_dereference_protected", `rcu_dereference_protected(${key}, ${lock.id})`), (r) =>
                kernel.heldBy(r.task).some((h) => h.resource === lock.id)
                  ? Effect.succeed(r.value)
                  : Effect.as(
                      kernel.warn(`suspicious RCU usage: suspicious rcu_dereference_protected() usage! (${key} without ${lock.id} held)`),
                      r.value
                    )
              ),
            accessPointer: Effect.map(load("rcu_access_pointer", `rcu_access_pointer(${key})`), (r) => r.value),
            peek: () => value
          }
        })
    }
  })
