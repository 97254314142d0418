/**
 * Destroying a workqueue while holding a lock that the work item takes: the
 * driver remove() pattern, with destroy_workqueue() instead of a flush.
 *
 *   irq:     queue_work(wq, &dev->event_work)
 *   remove:  free_irq(); mutex_lock(&dev->lock); destroy_workqueue(wq); mutex_unlock(&dev->lock)
 *   worker:  dev_event_work(): mutex_lock(&dev->lock); dev->events++; mutex_unlock(&dev->lock)
 *
 * destroy_workqueue() drains the queue: it waits for the queued item, which
 * waits for dev->lock, which remove() holds. free_irq() comes first so that
 * nothing queues work on a draining or destroyed queue (that would be a WARN,
 * a different bug).
 *
 * Fixed: the work item does not need dev->lock: it counts events with
 * atomic_inc(&dev->events).
 *
 * Run: npx pnpm@12.21.0 exec node examples/classic/destroy-under-lock.ts
 */

import { Atomic, Kernel, Mutex, type Scenario, Workqueue } from "@drvmodel/core"
import { Effect } from "effect"
import type { QueueKind } from "./flush-under-lock.ts"
import { type Pattern, printVerdicts } from "./pattern.ts"

const maxActive = (queue: QueueKind) => (queue === "ordered" ? 1 : 4)

const scenario = (queue: QueueKind, fixed: boolean): Scenario => ({
  name: `destroy-under-lock-${queue}${fixed ? "-fixed" : ""}`,
  description: fixed
    ? `remove() destroys the ${queue} queue holding dev->lock; the work item does not take it`
    : `remove() destroys the ${queue} queue holding dev->lock, which the work item takes`,
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const lock = yield* Mutex.make("dev->lock", { lockClass: "&dev->lock" })
    const wq = yield* Workqueue.make("wq", { maxActive: maxActive(queue) })
    const events = yield* Atomic.make("dev->events", 0)
    const eventWork = Workqueue.work(
      "dev_event_work",
      kernel.call(
        "dev",
        "dev_event_work",
        fixed
          ? Effect.asVoid(Atomic.inc(events))
          : Effect.gen(function* () {
              yield* lock.lock
              yield* events.update("dev->events++", (n) => n + 1)
              yield* lock.unlock
            })
      )
    )
    const irq = yield* kernel.spawn("irq", kernel.call("dev", "dev_irq_handler", Effect.asVoid(wq.queueWork(eventWork))))
    yield* kernel.spawn(
      "remove",
      kernel.call(
        "dev",
        "dev_remove",
        Effect.gen(function* () {
          // free_irq() waits for a running handler (synchronize_irq); the
          // handler fires once in this scenario, so that is waiting for it to end.
          yield* kernel.call("dev", "free_irq", kernel.join(irq))
          yield* lock.lock
          yield* wq.destroy
          yield* lock.unlock
        })
      )
    )
  })
})

const pattern = (queue: QueueKind): Pattern => {
  const buggy = scenario(queue, false)
  return {
    name: `destroy-under-lock-${queue}`,
    description: buggy.description,
    buggy,
    fixed: scenario(queue, true),
    fix: "the work item no longer takes dev->lock (atomic_inc instead)",
    // Idle workers are interchangeable (the workqueue lets only the first idle one take an
    // item), so even the four-worker queue is exhausted at bound 2 in about a hundred runs.
    defaults: { strategy: "dfs", preemptions: 2, schedules: 5000 },
    invariants: []
  }
}

/**
 * Destroy under a lock the item takes, on an ordered queue (max_active 1).
 *
 * @example
 * ```ts
 * import { destroyOrderedPattern } from "./destroy-under-lock.ts"
 * destroyOrderedPattern.buggy.name // => "destroy-under-lock-ordered"
 * ```
 */
export const destroyOrderedPattern = pattern("ordered")
/** Destroy under a lock the item takes, on a concurrent queue (max_active 4). */
export const destroyConcurrentPattern = pattern("concurrent")

if (import.meta.main) process.exitCode = printVerdicts([destroyOrderedPattern, destroyConcurrentPattern]) ? 0 : 1
