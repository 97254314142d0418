/**
 * `struct workqueue_struct` and `struct work_struct`: deferred work run by
 * worker tasks. An ordered queue has one worker; a concurrent one runs up to
 * `max_active` items at once. Semantics followed from kernel/workqueue.c:
 * - `queue_work` returns false when the item is already pending;
 * - a work item never runs concurrently with itself (non-reentrancy);
 * - `flush_workqueue` waits for every item queued before the flush began;
 * - `destroy_workqueue` drains (waits until no item is pending or running,
 *   chained queueing from its own workers allowed), then refuses new items:
 *   queueing from elsewhere while draining, or after destruction, is a WARN;
 * - `cancel_work_sync` removes a pending item and waits for a running one;
 * - delayed work is armed on the virtual clock.
 * Every state change happens inside an operation and is in its footprint:
 * `flush_workqueue` and `flush_work` first record what they wait for (a step,
 * as the kernel takes the flush colour or the barrier under the pool lock) and
 * then, if anything is in flight, sleep in a second step (`… wait`).
 * For lock-order analysis a running item holds the queue's and the item's
 * lockdep classes, and flush/drain/cancel touch them, as workqueue.c does.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type LockEvent, type Resource, type TaskHandle } from "../Kernel.ts"
import type { HeldLock } from "../Trace.ts"

/**
 * A work item (`INIT_WORK(&w, fn)`). The same item can be queued again once it
 * has started running.
 *
 * @category models
 * @since 0.1.0
 */
export interface Work {
  readonly name: string
  /** The work function: may use the kernel (`Sched.msleep`, `Sched.condResched`, queueing more work). */
  readonly fn: Effect.Effect<void, unknown, Kernel>
}

/**
 * `INIT_WORK()`: a work item named after its function.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sched, Workqueue } from "@drvmodel/core"
 * const w = Workqueue.work("esw_functions_changed_event_handler", Effect.andThen(Sched.msleep(10), Sched.condResched))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const work = (name: string, fn: Effect.Effect<void, unknown, Kernel>): Work => ({ name, fn })

/**
 * A modelled workqueue.
 *
 * @category models
 * @since 0.1.0
 */
export interface Workqueue extends Resource {
  /** `queue_work()`: false if the item is already pending. */
  readonly queueWork: (w: Work) => Effect.Effect<boolean>
  /** `queue_delayed_work()`: false if already pending (armed or queued). */
  readonly queueDelayedWork: (w: Work, delayMs: number) => Effect.Effect<boolean>
  /** `flush_workqueue()` */
  readonly flush: Effect.Effect<void>
  /** `drain_workqueue()` + `destroy_workqueue()` */
  readonly destroy: Effect.Effect<void>
  /** `flush_work()`: waits for the item's last queueing to finish; true if it waited. */
  readonly flushWork: (w: Work) => Effect.Effect<boolean>
  /** `cancel_work_sync()` / `cancel_delayed_work_sync()`: true if the item was pending. */
  readonly cancelWorkSync: (w: Work) => Effect.Effect<boolean>
  /** Items queued and not yet started. */
  readonly pendingCount: () => number
  /** Items running now. */
  readonly runningCount: () => number
  readonly isDestroyed: () => boolean
}

/**
 * Options: `maxActive` 1 (default) is an ordered queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkqueueOptions {
  readonly maxActive?: number
  readonly lockClass?: string
}

interface Item {
  readonly work: Work
  readonly seq: number
}

/**
 * `alloc_workqueue()` / `alloc_ordered_workqueue()`: creates the queue and its
 * worker tasks (daemons named `<queue>-worker`, or `<queue>-worker/<i>`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workqueue } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const wq = yield* Workqueue.make("esw_wq")
 *   yield* wq.queueWork(Workqueue.work("handler", Effect.void))
 *   yield* wq.destroy
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (id: string, options?: WorkqueueOptions): Effect.Effect<Workqueue, never, Kernel> =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const maxActive = Math.max(1, options?.maxActive ?? 1)
    const ordered = maxActive === 1
    const lockClass = options?.lockClass ?? `(wq_completion)${id}`
    const queue: Array<Item> = []
    const armed = new Map<Work, () => void>()
    const running = new Map<Work, { readonly worker: string; readonly seq: number }>()
    const lastSeq = new Map<Work, number>()
    const workers: Array<string> = []
    let seq = 0
    let draining = false
    let destroyed = false
    const inflightUpTo = (upTo: number) => queue.some((i) => i.seq <= upTo) || [...running.values()].some((r) => r.seq <= upTo)
    const resource: Resource = {
      id,
      kind: "workqueue",
      lockClass,
      // Who must finish before a flusher can proceed: the workers running items
      // (and, if items wait with no worker free, every worker).
      holders: () => (running.size > 0 ? [...new Set([...running.values()].map((r) => r.worker))] : queue.length > 0 ? workers : []),
      state: () =>
        `${destroyed ? "destroyed" : draining ? "draining" : "live"}; pending [${queue.map((i) => i.work.name).join(", ")}]; running [${[...running.entries()].map(([w, r]) => `${w.name}@${r.worker}`).join(", ")}]`
    }
    kernel.register(resource)
    // Footprints: one key, the queue, for its pending list, running set, draining/destroyed
    // flags and idle workers. Queueing, taking an item, finishing one, cancelling and draining
    // write it (an idle worker's wait is enabled by a queue_work, a flusher's by a work_done);
    // recording a flush target and waiting for it only read it.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    const workClass = (w: Work) => `(work_completion)(${w.name})`
    const enqueue = (w: Work): boolean => {
      if (queue.some((i) => i.work === w) || armed.has(w)) return false
      const item = { work: w, seq: ++seq }
      lastSeq.set(w, item.seq)
      queue.push(item)
      return true
    }
    const refuse = (w: Work, me: string): string | undefined => {
      if (destroyed) return `queue_work(${id}, ${w.name}) after destroy_workqueue: use-after-free`
      if (draining && !workers.includes(me)) return `queue_work(${id}, ${w.name}) while draining, from ${me}`
      return undefined
    }
    const queueOp = (name: string, w: Work, delayMs: number | undefined) =>
      Effect.flatMap(
        kernel.point<{ readonly queued: boolean; readonly bad?: string }>({
          name,
          label: `${name}(${id}, ${w.name})`,
          resource,
          footprint: writes,
          apply: () => {
            const bad = refuse(w, kernel.current())
            if (bad !== undefined) return { queued: false, bad }
            if (delayMs === undefined || delayMs <= 0) return { queued: enqueue(w) }
            if (queue.some((i) => i.work === w) || armed.has(w)) return { queued: false }
            armed.set(
              w,
              kernel.timer(delayMs, () => {
                armed.delete(w)
                enqueue(w)
              })
            )
            return { queued: true }
          },
          show: (r) => (r.queued ? "true" : "false")
        }),
        (r) => (r.bad !== undefined ? Effect.as(kernel.warn(r.bad), false) : Effect.succeed(r.queued))
      )
    const touch = (mode: LockEvent["mode"]): LockEvent => ({ type: "touch", lockClass, resource: id, mode })
    const waitFor = (name: string, label: string, until: () => boolean, events: ReadonlyArray<LockEvent>) =>
      kernel.point<void>({
        name,
        label,
        resource,
        waitKind: name,
        enabled: until,
        footprint: reads,
        apply: () => undefined,
        lockEvents: () => events
      })

    // Idle workers are interchangeable: only the first idle one (in creation order) may take
    // the next item or exit. A sound symmetry reduction that keeps DFS over concurrent queues
    // from exploring which identical worker runs an item.
    const idle = new Set<string>()
    const firstIdle = () => workers.find((w) => idle.has(w))
    const worker = (self: string) =>
      Effect.gen(function* () {
        while (true) {
          idle.add(self)
          const item = yield* kernel.point<Item | undefined>({
            name: "worker_thread",
            label: `worker_thread(${id})`,
            resource,
            idle: true,
            waitKind: "idle",
            enabled: () => firstIdle() === self && ((destroyed && queue.length === 0) || queue.some((i) => !running.has(i.work))),
            footprint: writes,
            apply: () => {
              idle.delete(self)
              const i = queue.findIndex((q) => !running.has(q.work))
              if (i < 0) return undefined
              const [taken] = queue.splice(i, 1)
              running.set(taken!.work, { worker: self, seq: taken!.seq })
              return taken
            },
            show: (i) => i?.work.name ?? "exit",
            holds: (i): ReadonlyArray<HeldLock> =>
              i === undefined
                ? []
                : [
                    { resource: id, lockClass, mode: "write" },
                    { resource: `${id}:${i.work.name}`, lockClass: workClass(i.work), mode: "write" }
                  ],
            // lockdep: process_one_work takes the queue's map as a recursive read on a
            // concurrent queue (lock_map_acquire_read), so flushing a sibling item from
            // an item (a recursive-read touch) is not recursive locking.
            lockEvents: (i): ReadonlyArray<LockEvent> =>
              i === undefined
                ? []
                : [
                    { type: "acquire", lockClass, resource: id, mode: ordered ? "write" : "recursive-read" },
                    { type: "acquire", lockClass: workClass(i.work), resource: `${id}:${i.work.name}`, mode: "write" }
                  ]
          })
          if (item === undefined) return
          yield* kernel.call("workqueue", "process_one_work", item.work.fn)
          yield* kernel.point<void>({
            name: "work_done",
            label: `work_done(${id}, ${item.work.name})`,
            resource,
            releases: () => [`${id}:${item.work.name}`, id],
            // Also covers the worker going idle again (idle.add at the top of the loop), which
            // runs in this step's continuation and changes which idle worker may take the next item.
            footprint: writes,
            apply: () => {
              running.delete(item.work)
            },
            lockEvents: () => [
              { type: "release", lockClass: workClass(item.work), resource: `${id}:${item.work.name}`, mode: "write" },
              { type: "release", lockClass, resource: id, mode: ordered ? "write" : "recursive-read" }
            ]
          })
        }
      })
    for (let i = 0; i < maxActive; i++) {
      // The worker learns its (unique) task name once spawned.
      let self = ""
      const handle: TaskHandle = yield* kernel.spawn(
        maxActive === 1 ? `${id}-worker` : `${id}-worker/${i}`,
        Effect.suspend(() => worker(self)),
        {
          daemon: true
        }
      )
      self = handle.name
      workers.push(handle.name)
    }

    const flushWorkMode: LockEvent["mode"] = ordered ? "write" : "recursive-read"
    return {
      ...resource,
      pendingCount: () => queue.length + armed.size,
      runningCount: () => running.size,
      isDestroyed: () => destroyed,
      queueWork: (w) => queueOp("queue_work", w, undefined),
      queueDelayedWork: (w, delayMs) => queueOp("queue_delayed_work", w, delayMs),
      flush: Effect.flatMap(
        kernel.point<number | undefined>({
          name: "flush_workqueue",
          label: `flush_workqueue(${id})`,
          resource,
          footprint: reads,
          // The items queued so far; undefined when none is in flight.
          apply: () => (inflightUpTo(seq) ? seq : undefined),
          show: (upTo) => (upTo === undefined ? undefined : "wait"),
          lockEvents: () => [touch("write")]
        }),
        (upTo) =>
          upTo === undefined ? Effect.void : waitFor("flush_workqueue", `flush_workqueue(${id}) wait`, () => !inflightUpTo(upTo), [])
      ),
      destroy: Effect.gen(function* () {
        yield* kernel.point<void>({
          name: "drain_workqueue",
          label: `drain_workqueue(${id})`,
          resource,
          footprint: writes,
          apply: () => {
            draining = true
            for (const disarm of armed.values()) disarm()
            armed.clear()
          }
        })
        yield* waitFor("destroy_workqueue", `destroy_workqueue(${id})`, () => queue.length === 0 && running.size === 0, [touch("write")])
        yield* kernel.point<void>({
          name: "destroy_workqueue",
          label: `destroy_workqueue(${id}) done`,
          resource,
          footprint: writes,
          apply: () => {
            destroyed = true
          }
        })
      }),
      flushWork: (w) => {
        const events: ReadonlyArray<LockEvent> = [
          { type: "touch", lockClass: workClass(w), resource: `${id}:${w.name}`, mode: "write" },
          touch(flushWorkMode)
        ]
        // Waits for the item's last queueing (when flush_work starts) to finish.
        const busy = (upTo: number) => queue.some((i) => i.work === w && i.seq <= upTo) || (running.get(w)?.seq ?? Infinity) <= upTo
        return Effect.flatMap(
          kernel.point<number | undefined>({
            name: "flush_work",
            label: `flush_work(${w.name})`,
            resource,
            footprint: reads,
            apply: () => {
              const upTo = lastSeq.get(w) ?? 0
              return busy(upTo) ? upTo : undefined
            },
            show: (upTo) => (upTo === undefined ? "false" : "wait"),
            lockEvents: () => events
          }),
          (upTo) =>
            upTo === undefined
              ? Effect.succeed(false)
              : Effect.as(
                  waitFor("flush_work", `flush_work(${w.name}) wait`, () => !busy(upTo), []),
                  true
                )
        )
      },
      cancelWorkSync: (w) =>
        Effect.gen(function* () {
          const wasPending = yield* kernel.point<boolean>({
            name: "cancel_work_sync",
            label: `cancel_work_sync(${w.name})`,
            resource,
            footprint: writes,
            apply: () => {
              const disarm = armed.get(w)
              if (disarm !== undefined) {
                disarm()
                armed.delete(w)
                return true
              }
              const i = queue.findIndex((q) => q.work === w)
              if (i >= 0) queue.splice(i, 1)
              return i >= 0
            },
            show: (b) => (b ? "true" : "false"),
            // __flush_work() touches the item's map even when it is idle (since 5.18).
            lockEvents: () => [{ type: "touch", lockClass: workClass(w), resource: `${id}:${w.name}`, mode: "write" }]
          })
          if (running.has(w)) {
            yield* waitFor("cancel_work_sync", `cancel_work_sync(${w.name}) wait`, () => !running.has(w), [])
          }
          return wasPending
        })
    }
  })
