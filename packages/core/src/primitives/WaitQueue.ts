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
    // Footprints: wake_up_all, queueing a waiter and every re-check write the queue (the waiter
    // set and the woken flags, which are what enables a sleeping waiter). The condition is model
    // code evaluated inside the step: what it reads is the model's (its kernel cells), not the
    // queue's, and is recorded as such.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
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
          footprint: writes,
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
            footprint: writes,
            waitKind: "waitqueue",
            ...(deadline !== undefined ? { deadline } : {}),
            enabled: () => entry.woken,
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
