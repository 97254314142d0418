/**
 * `wait_queue_head_t` with `wait_event_timeout()` and `wake_up_all()`.
 *
 * Kernel semantics, kept on purpose: a waiter re-checks its condition only
 * when woken or when its timeout expires. A condition that becomes true
 * without a `wake_up` is noticed at the timeout, not before.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled wait queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface WaitQueue extends Resource {
  /** `wake_up_all()` */
  readonly wakeUpAll: Effect.Effect<void>
  /**
   * `wait_event_timeout(wq, condition, timeout)`: 0 if the condition was still
   * false when the timeout elapsed, else the remaining time (at least 1).
   */
  readonly waitEventTimeout: (condition: () => boolean, describe: string, timeoutMs: number) => Effect.Effect<number>
  /** `wait_event()` without a timeout. */
  readonly waitEvent: (condition: () => boolean, describe: string) => Effect.Effect<void>
}

/**
 * `init_waitqueue_head()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WaitQueue } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const wq = yield* WaitQueue.make("work_queue_wait")
 *   const left = yield* wq.waitEventTimeout(() => true, "always", 60)
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (id: string, options?: { readonly lockClass?: string }): Effect.Effect<WaitQueue, never, Kernel> =>
  Kernel.useSync((kernel) => {
    // Each waiter registers a "woken" flag; wake_up_all sets every current one.
    const waiters = new Set<{ woken: boolean }>()
    const lockClass = options?.lockClass ?? `(wait)${id}`
    const resource: Resource = {
      id,
      kind: "waitqueue",
      lockClass,
      holders: () => [],
      state: () => `${waiters.size} waiting`
    }
    kernel.register(resource)
    // Footprints (partial-order reduction, spin-assume and the race check). The queue's state is
    // its set of waiter entries, each with a woken flag; an entry is touched only by its own
    // waiter's steps and by wake_up_all. Which pairs of steps do not commute:
    // - wake_up_all and any step of a waiter: joining the set before or after a wake decides
    //   whether that waiter is woken, and a re-check before or after it whether the waiter sleeps
    //   again; a wake is also what enables a sleeping waiter. wake_up_all writes the queue's key,
    //   a waiter's steps read it.
    // - Two wake_up_alls commute (each sets every flag present), but both write: kept ordered.
    // - Steps of two waiters commute: each adds, removes or clears only its own entry, which no
    //   other waiter's step reads (set insertion and removal of distinct entries), and a waiter's
    //   step enables no one (only a wake or the clock enables a sleeper). Nothing else reads the
    //   set: there is no waitqueue_active(). So joining, re-checking and leaving only read the key.
    // - A first check that finds the condition true does not touch the queue (the wait_event
    //   macro tests the condition before it prepares to wait): only what the condition reads.
    // The condition is model code evaluated inside the step: what it reads is the model's (its
    // kernel cells), not the queue's, and is recorded as such. A retry loop that waits on a queue
    // and leaves it again (the merged esw_wq_handler) therefore writes nothing through the queue,
    // and spin-assume (internal/engine.ts `spinStep`) treats its iteration like any read-only one.
    // Race check: a wake releases into the key and the waiter's steps acquire it — the order the
    // kernel documents (stores before wake_up_all are seen by the woken task's condition check,
    // memory-barriers.txt, "Sleep and wake-up functions"). Joining the set does not release to a
    // later waker: the kernel gives that order only as a side effect of wq->lock, and no
    // wait_event user may rely on it.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    const none: ReadonlyArray<Access> = []
    const keys: ReadonlyArray<string> = [id]
    const waitLoop = (condition: () => boolean, describe: string, timeoutMs: number | undefined) =>
      Effect.gen(function* () {
        const deadline = timeoutMs === undefined ? undefined : kernel.now() + timeoutMs
        const remaining = () => (deadline === undefined ? 1 : Math.max(1, deadline - kernel.now()))
        // First check, like the wait_event macro, before sleeping.
        const entry = { woken: false }
        const ready = yield* kernel.point<boolean>({
          name: "prepare_to_wait_event",
          label: `wait_event(${id}, ${describe})`,
          resource,
          footprint: (ready) => (ready ? none : reads),
          apply: () => {
            if (condition()) return true
            entry.woken = false
            waiters.add(entry)
            return false
          },
          show: (b) => (b ? "true" : "sleep")
        })
        if (ready) return remaining()
        // wait_event() sleeps in schedule(); only wait_event_timeout() in schedule_timeout().
        const sleep = deadline === undefined ? "schedule" : "schedule_timeout"
        while (true) {
          const r = yield* kernel.point<"ready" | "again" | "timeout">({
            name: sleep,
            label: `${sleep}(${id}, ${describe})`,
            resource,
            footprint: reads,
            waitKind: "waitqueue",
            ...(deadline !== undefined ? { deadline } : {}),
            enabled: () => entry.woken,
            // Only wake_up_all (which writes the queue's key) sets the flag; the waiter's own steps clear it.
            enabledReads: keys,
            apply: () => {
              const ok = condition()
              if (ok) {
                waiters.delete(entry)
                return "ready"
              }
              if (deadline !== undefined && kernel.now() >= deadline) {
                waiters.delete(entry)
                return "timeout"
              }
              entry.woken = false
              return "again"
            },
            show: (r) => r,
            // A wait as a touch of the queue's class (lock-order analysis ignores timed waits).
            lockEvents: () => [{ type: "touch", lockClass, resource: id, mode: "write" }]
          })
          if (r === "ready") return remaining()
          if (r === "timeout") return 0
        }
      })
    return {
      ...resource,
      wakeUpAll: kernel.point<void>({
        name: "wake_up_all",
        label: `wake_up_all(${id})`,
        resource,
        footprint: writes,
        apply: () => {
          for (const w of waiters) w.woken = true
        }
      }),
      waitEventTimeout: (condition, describe, timeoutMs) => waitLoop(condition, describe, timeoutMs),
      waitEvent: (condition, describe) => Effect.asVoid(waitLoop(condition, describe, undefined))
    }
  })
