/**
 * Flushing a workqueue while holding a lock that the work item takes: the
 * driver remove() pattern.
 *
 *   irq:     queue_work(wq, &dev->event_work)
 *   remove:  mutex_lock(&dev->lock); flush_workqueue(wq); mutex_unlock(&dev->lock)
 *   worker:  dev_event_work(): mutex_lock(&dev->lock); dev->events++; mutex_unlock(&dev->lock)
 *
 * If the item is queued before the flush starts and has not taken the lock
 * when remove() takes it, the flush waits for the item and the item waits for
 * the lock: remove -> wq -> worker -> dev->lock -> remove. The queue's
 * concurrency does not help: on an ordered queue (max_active 1) and on a
 * concurrent one (max_active 4) the flush waits for this very item.
 *
 * Fixed: remove() does its locked work, drops the lock, then flushes.
 *
 * Run: npx pnpm@12.21.0 exec node examples/classic/flush-under-lock.ts
 */

import { Kernel, Mutex, type Scenario, Workqueue } from "@drvmodel/core"
import { Effect } from "effect"
import { type Pattern, printVerdicts } from "./pattern.ts"

/** Ordered (`alloc_ordered_workqueue`) or concurrent (`alloc_workqueue(..., max_active = 4)`). */
export type QueueKind = "ordered" | "concurrent"

const maxActive = (queue: QueueKind) => (queue === "ordered" ? 1 : 4)

const scenario = (queue: QueueKind, fixed: boolean): Scenario => ({
  name: `flush-under-lock-${queue}${fixed ? "-fixed" : ""}`,
  description: fixed
    ? `remove() drops dev->lock, then flushes the ${queue} queue`
    : `remove() flushes the ${queue} queue holding dev->lock, which the work item takes`,
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const lock = yield* Mutex.make("dev->lock", { lockClass: "&dev->lock" })
    const wq = yield* Workqueue.make("wq", { maxActive: maxActive(queue) })
    // Only touched under dev->lock: a plain variable.
    let events = 0
    kernel.probe("dev->events", () => String(events))
    const eventWork = Workqueue.work(
      "dev_event_work",
      kernel.call(
        "dev",
        "dev_event_work",
        Effect.gen(function* () {
          yield* lock.lock
          events++
          yield* lock.unlock
        })
      )
    )
    // An interrupt (or notifier) defers its handling to the workqueue.
    yield* kernel.spawn("irq", kernel.call("dev", "dev_irq_handler", Effect.asVoid(wq.queueWork(eventWork))))
    yield* kernel.spawn(
      "remove",
      kernel.call(
        "dev",
        "dev_remove",
        fixed
          ? Effect.gen(function* () {
              yield* lock.lock
              yield* lock.unlock
              yield* wq.flush
            })
          : Effect.gen(function* () {
              yield* lock.lock
              yield* wq.flush
              yield* lock.unlock
            })
      )
    )
  })
})

const pattern = (queue: QueueKind): Pattern => {
  const buggy = scenario(queue, false)
  return {
    name: `flush-under-lock-${queue}`,
    description: buggy.description,
    buggy,
    fixed: scenario(queue, true),
    fix: "drop dev->lock before flush_workqueue()",
    // Idle workers are interchangeable (the workqueue lets only the first idle one take an
    // item), so even the four-worker queue is exhausted at bound 2 in about a hundred runs.
    defaults: { strategy: "dfs", preemptions: 2, schedules: 5000 },
    invariants: []
  }
}

/**
 * Flush under a lock the item takes, on an ordered queue (max_active 1).
 *
 * @example
 * ```ts
 * import { flushOrderedPattern } from "./flush-under-lock.ts"
 * flushOrderedPattern.buggy.name // => "flush-under-lock-ordered"
 * ```
 */
export const flushOrderedPattern = pattern("ordered")
/** Flush under a lock the item takes, on a concurrent queue (max_active 4). */
export const flushConcurrentPattern = pattern("concurrent")

if (import.meta.main) process.exitCode = printVerdicts([flushOrderedPattern, flushConcurrentPattern]) ? 0 : 1
