/**
 * `struct ww_mutex` and `struct ww_acquire_ctx`: wound/wait mutexes for
 * acquiring a set of locks in any order (include/linux/ww_mutex.h,
 * kernel/locking/ww_mutex.h): the wait-die algorithm of a class made by
 * `DEFINE_WD_CLASS` and the wound-wait one of `DEFINE_WW_CLASS`.
 *
 * Kernel semantics followed (CONFIG_DEBUG_WW_MUTEXES and lockdep on):
 * - `ww_acquire_init(ctx, class)` stamps the context from the class's counter
 *   (an earlier stamp is an older context); lockdep holds the class's
 *   `_acquire` map until `ww_acquire_fini`, so a second context in one task is
 *   recursive locking;
 * - `ww_mutex_lock(lock, ctx)`: 0 once acquired; `-EALREADY` if `ctx` already
 *   holds it; `-EDEADLK` (wait-die) when the context holds at least one lock
 *   and the lock is held by an older context, or an older context waits for it
 *   — the younger context dies instead of waiting, and must release every lock
 *   it holds before it takes the contended one again (with
 *   `ww_mutex_lock_slow` or `ww_mutex_lock`). A context that holds nothing
 *   always waits. While it waits, it dies as soon as the rule holds;
 * - the debug checks, worded as the kernel's `DEBUG_LOCKS_WARN_ON`: acquiring
 *   another lock than the contended one after `-EDEADLK`, or acquiring it while
 *   still holding others; a second `-EDEADLK` before backing off;
 *   `ww_mutex_lock_slow` without a preceding `-EDEADLK`; locking after
 *   `ww_acquire_done`; `ww_acquire_done` twice; `ww_acquire_fini` with locks
 *   held, or twice; unlocking an unlocked ww_mutex;
 * - `ww_mutex_lock(lock, NULL)` is a plain mutex lock of the ww_mutex;
 *   `ww_mutex_trylock` never waits.
 *
 * For lock-order analysis the ww_mutexes of a class are one lockdep class
 * (`<class>_mutex`) acquired under the context's `<class>_acquire` map as the
 * nest lock: like lockdep, which only counts a nested acquisition of a class
 * already held, only the first lock of the class in a context is an acquire
 * event and the last unlock its release. Without a context every lock is an
 * acquisition (two are recursive locking, as the selftest "block-block" says).
 *
 * Wound-wait (`DEFINE_WW_CLASS`, `wwClass`): an older context that holds
 * locks and finds a lock held by a younger context wounds it and waits; a new
 * holder is wounded by an older waiter that holds locks; a wounded context
 * that holds locks gets `-EDEADLK` when it would block (woken if it is
 * waiting); a context that holds nothing starts unwounded. Its footprints add
 * the contexts' state (the wounder writes the victim's key).
 *
 * Not modelled: `ww_mutex_lock_interruptible` (no signals in the model).
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type LockEvent, type Resource } from "../Kernel.ts"
import type { HeldLock } from "../Trace.ts"

/** The kernel's error codes, as ww_mutex_lock returns them. */
export const EDEADLK = -35
/** `-EALREADY`: the context already holds the lock. */
export const EALREADY = -114

/**
 * An acquire context (`struct ww_acquire_ctx`), owned by the task that
 * initialised it.
 *
 * @category models
 * @since 0.3.0
 */
export interface AcquireCtx {
  readonly name: string
  /** Lower is older. */
  readonly stamp: () => number
  /** Locks held through this context. */
  readonly acquired: () => number
  /** `ww_acquire_done()`: no more locks will be taken. */
  readonly done: Effect.Effect<void>
  /** `ww_acquire_fini()` */
  readonly fini: Effect.Effect<void>
}

/**
 * A ww_mutex.
 *
 * @category models
 * @since 0.3.0
 */
export interface WwMutex extends Resource {
  /** `ww_mutex_lock(lock, ctx)`: 0, `EDEADLK` or `EALREADY`; without `ctx` a plain lock (always 0). */
  readonly lock: (ctx?: AcquireCtx) => Effect.Effect<number>
  /** `ww_mutex_lock_slow(lock, ctx)`: after `-EDEADLK`, with every other lock released; sleeps until acquired. */
  readonly lockSlow: (ctx: AcquireCtx) => Effect.Effect<void>
  /** `ww_mutex_trylock(lock, ctx)`: true if acquired. */
  readonly trylock: (ctx?: AcquireCtx) => Effect.Effect<boolean>
  /** `ww_mutex_unlock()` */
  readonly unlock: Effect.Effect<void>
  /** Current owner task, if locked. */
  readonly owner: () => string | undefined
}

/**
 * A ww class (`DEFINE_WD_CLASS` or `DEFINE_WW_CLASS`): its contexts and its mutexes.
 *
 * @category models
 * @since 0.3.0
 */
export interface WwClass {
  readonly name: string
  /** `ww_acquire_init(ctx, class)`: a new context owned by the calling task. */
  readonly acquireInit: (name: string) => Effect.Effect<AcquireCtx>
  /** `ww_mutex_init(lock, class)` */
  readonly mutex: (id: string) => Effect.Effect<WwMutex>
}

interface Ctx {
  readonly name: string
  readonly task: string
  readonly stamp: number
  acquired: number
  done: boolean
  finished: boolean
  /** Set by -EDEADLK (DEBUG_WW_MUTEXES): the lock the context must take next, alone. */
  contending: string | undefined
  /** How many locks of the class it holds (lockdep's reference count on the nest-locked class). */
  held: number
  /** Wound-wait: an older context wants a lock this one holds; it dies at its next contended lock. */
  wounded: boolean
  /** Footprint key of the context's shared state (`wounded`, written by the context that wounds it). */
  readonly key: string
}

/** What one lock attempt did. */
type Attempt = (
  | { readonly _tag: "acquired"; readonly warn?: string; readonly first: boolean }
  | { readonly _tag: "deadlk"; readonly warn?: string }
  | { readonly _tag: "already" }
  | { readonly _tag: "wait" }
  | { readonly _tag: "busy" }
) & {
  /** What the step touched, when more than the lock (wound-wait: contexts' state). */
  readonly fp?: ReadonlyArray<Access> | undefined
}

/**
 * `DEFINE_WD_CLASS(name)`: a wait-die class.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WwMutex } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const cls = yield* WwMutex.wdClass("reservation_ww_class")
 *   const a = yield* cls.mutex("bo1->resv")
 *   const b = yield* cls.mutex("bo2->resv")
 *   const ctx = yield* cls.acquireInit("ctx")
 *   if ((yield* a.lock(ctx)) === 0) {
 *     if ((yield* b.lock(ctx)) === WwMutex.EDEADLK) {
 *       yield* a.unlock                  // back off: release everything,
 *       yield* b.lockSlow(ctx)           // sleep on the contended lock,
 *       // ... then take the others again
 *     }
 *   }
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const wdClass = (name: string): Effect.Effect<WwClass, never, Kernel> => make(name, true)

/**
 * `DEFINE_WW_CLASS(name)`: a wound-wait class (the kernel's `reservation_ww_class` is one). An
 * older context that holds locks and wants a lock a younger context holds wounds it and waits; the
 * wounded context gets `-EDEADLK` at its next lock that would block (or at once, if it is waiting)
 * while it holds locks. A younger context waits for an older one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WwMutex } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const cls = yield* WwMutex.wwClass("reservation_ww_class")
 *   const bo = yield* cls.mutex("bo1->resv")
 *   const ctx = yield* cls.acquireInit("ctx")
 *   if ((yield* bo.lock(ctx)) === 0) yield* bo.unlock
 *   yield* ctx.fini
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const wwClass = (name: string): Effect.Effect<WwClass, never, Kernel> => make(name, false)

const make = (name: string, waitDie: boolean): Effect.Effect<WwClass, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let stamps = 0
    const acquireClass = `${name}_acquire`
    const mutexClass = `${name}_mutex`
    const contexts = new Map<AcquireCtx, Ctx>()
    const live = (task: string) => [...contexts.values()].filter((c) => c.task === task && !c.finished)
    const warnIf = (w: string | undefined) => (w === undefined ? Effect.void : kernel.warn(w))

    const acquireInit = (ctxName: string) =>
      Effect.flatMap(
        kernel.point<{ readonly ctx: Ctx; readonly second: boolean }>({
          name: "ww_acquire_init",
          label: `ww_acquire_init(${ctxName})`,
          // The class's stamp counter (atomic_long_inc_return).
          footprint: [{ key: `${name}:stamp`, mode: "write" }],
          apply: () => {
            const task = kernel.current()
            const second = live(task).length > 0
            const stamp = ++stamps
            const key = `${name}:ctx#${stamp}`
            const ctx: Ctx = {
              name: ctxName,
              task,
              stamp,
              acquired: 0,
              done: false,
              finished: false,
              contending: undefined,
              held: 0,
              wounded: false,
              key
            }
            return { ctx, second }
          },
          show: (r) => `stamp ${r.ctx.stamp}`,
          holds: (r): HeldLock => ({ resource: r.ctx.name, lockClass: acquireClass, mode: "write" }),
          lockEvents: (r) => [{ type: "acquire", lockClass: acquireClass, resource: r.ctx.name, mode: "write" }]
        }),
        ({ ctx, second }) => {
          const handle: AcquireCtx = {
            name: ctx.name,
            stamp: () => ctx.stamp,
            acquired: () => ctx.acquired,
            done: Effect.flatMap(
              kernel.point<string | undefined>({
                name: "ww_acquire_done",
                label: `ww_acquire_done(${ctx.name})`,
                footprint: [{ key: ctx.name, mode: "write" }],
                apply: () => {
                  if (ctx.done) return "DEBUG_LOCKS_WARN_ON(ctx->done_acquire): ww_acquire_done twice"
                  ctx.done = true
                  return undefined
                }
              }),
              (w) => warnIf(w && `${w} (${ctx.name})`)
            ),
            fini: Effect.flatMap(
              kernel.point<string | undefined>({
                name: "ww_acquire_fini",
                label: `ww_acquire_fini(${ctx.name})`,
                footprint: [{ key: ctx.name, mode: "write" }],
                apply: () => {
                  if (ctx.finished) return `bad unlock balance detected: ww_acquire_fini(${ctx.name}) of a finished context`
                  ctx.finished = true
                  if (ctx.acquired > 0)
                    return `DEBUG_LOCKS_WARN_ON(ctx->acquired): ww_acquire_fini(${ctx.name}) with ${ctx.acquired} lock(s) held`
                  return undefined
                },
                releases: () => [ctx.name],
                lockEvents: () => [{ type: "release", lockClass: acquireClass, resource: ctx.name, mode: "write" }]
              }),
              warnIf
            )
          }
          contexts.set(handle, ctx)
          return Effect.as(
            warnIf(second ? `possible recursive locking: ww_acquire_init(${ctx.name}) while holding another ${acquireClass}` : undefined),
            handle
          )
        }
      )

    const mutex = (id: string) =>
      Effect.sync((): WwMutex => {
        let owner: string | undefined
        let holder: Ctx | undefined
        /** Contexts waiting for the lock (they were told to wait, not to die). */
        const waiting = new Set<Ctx>()
        const resource: Resource = {
          id,
          kind: "ww_mutex",
          lockClass: mutexClass,
          holders: () => (owner === undefined ? [] : [owner]),
          state: () => (owner === undefined ? "unlocked" : `locked by ${owner}${holder ? ` (${holder.name}, stamp ${holder.stamp})` : ""}`)
        }
        kernel.register(resource)
        const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
        const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
        const held: HeldLock = { resource: id, lockClass: mutexClass, mode: "write" }
        const event = (type: "acquire" | "release"): ReadonlyArray<LockEvent> => [
          { type, lockClass: mutexClass, resource: id, mode: "write" }
        ]
        /**
         * Whether a context that would block must return -EDEADLK (__ww_mutex_check_kill): only
         * one that holds locks; wait-die: the holder or a waiter is older; wound-wait: it was wounded.
         */
        const mustDie = (ctx: Ctx) =>
          ctx.acquired > 0 &&
          (waitDie
            ? (holder !== undefined && holder.stamp < ctx.stamp) || [...waiting].some((w) => w !== ctx && w.stamp < ctx.stamp)
            : ctx.wounded)
        /** Wound-wait: the footprint of a step by `ctx` that may have wounded `victims`. */
        const touched = (ctx: Ctx | undefined, victims: ReadonlyArray<Ctx>): ReadonlyArray<Access> | undefined =>
          waitDie || ctx === undefined
            ? undefined
            : [...writes, { key: ctx.key, mode: "write" }, ...victims.map((v) => ({ key: v.key, mode: "write" as const }))]
        /** __ww_mutex_wound: an older context holding locks wounds a younger holder. */
        const wound = (ctx: Ctx): Array<Ctx> => {
          if (waitDie || holder === undefined || ctx.acquired === 0 || holder.stamp < ctx.stamp) return []
          holder.wounded = true
          return [holder]
        }
        const take = (ctx: Ctx | undefined): Attempt => {
          owner = kernel.current()
          holder = ctx
          if (ctx === undefined) return { _tag: "acquired", first: true }
          waiting.delete(ctx)
          // __ww_mutex_check_waiters: an older waiter that holds locks wounds the new holder.
          if (!waitDie && [...waiting].some((w) => w.stamp < ctx.stamp && w.acquired > 0)) ctx.wounded = true
          // ww_mutex_lock_acquired()'s debug checks.
          let warn: string | undefined
          if (ctx.done) warn = `DEBUG_LOCKS_WARN_ON(ww_ctx->done_acquire): ww_mutex_lock(${id}) after ww_acquire_done(${ctx.name})`
          else if (ctx.contending !== undefined && ctx.contending !== id)
            warn = `DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock != ww): ${ctx.name} took ${id} after -EDEADLK on ${ctx.contending}`
          else if (ctx.contending !== undefined && ctx.acquired > 0)
            warn = `DEBUG_LOCKS_WARN_ON(ww_ctx->acquired > 0): ${ctx.name} took ${id} after -EDEADLK without releasing its ${ctx.acquired} other lock(s)`
          ctx.contending = undefined
          ctx.acquired++
          ctx.held++
          return warn === undefined ? { _tag: "acquired", first: ctx.held === 1 } : { _tag: "acquired", first: ctx.held === 1, warn }
        }
        const die = (ctx: Ctx): Attempt => {
          waiting.delete(ctx)
          const warn =
            ctx.contending !== undefined
              ? `DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock): ${ctx.name} got -EDEADLK on ${id} before backing off from ${ctx.contending}`
              : undefined
          ctx.contending = id
          return warn === undefined ? { _tag: "deadlk" } : { _tag: "deadlk", warn }
        }
        const lockEvents = (ctx: Ctx | undefined) => (a: Attempt) =>
          a._tag === "acquired" && (ctx === undefined || a.first) ? event("acquire") : []
        const holds = (a: Attempt) => (a._tag === "acquired" ? held : undefined)
        const result = (a: Attempt): Effect.Effect<number> =>
          a._tag === "acquired" || a._tag === "deadlk"
            ? Effect.as(warnIf(a.warn), a._tag === "acquired" ? 0 : EDEADLK)
            : Effect.succeed(a._tag === "already" ? EALREADY : 0)
        const show = (a: Attempt) =>
          a._tag === "acquired" ? "0" : a._tag === "deadlk" ? "-EDEADLK" : a._tag === "already" ? "-EALREADY" : a._tag

        const lock = (ctx: Ctx | undefined, name: string): Effect.Effect<number> =>
          Effect.flatMap(
            kernel.point<Attempt>({
              name,
              label: `${name}(${id}${ctx ? `, ${ctx.name}` : ""})`,
              resource,
              footprint: (a) => a.fp ?? writes,
              apply: (): Attempt => {
                if (ctx !== undefined && holder === ctx) return { _tag: "already", fp: touched(ctx, []) }
                // __ww_mutex_lock: a context that holds nothing starts unwounded.
                if (ctx !== undefined && ctx.acquired === 0) ctx.wounded = false
                if (owner === undefined) return { ...take(ctx), fp: touched(ctx, []) }
                if (ctx !== undefined && mustDie(ctx)) return { ...die(ctx), fp: touched(ctx, []) }
                const victims = ctx === undefined ? [] : wound(ctx)
                if (ctx !== undefined) waiting.add(ctx)
                return { _tag: "wait", fp: touched(ctx, victims) }
              },
              show,
              holds,
              lockEvents: lockEvents(ctx)
            }),
            (a) =>
              a._tag !== "wait"
                ? result(a)
                : Effect.flatMap(
                    kernel.point<Attempt>({
                      name,
                      label: `${name}(${id}${ctx ? `, ${ctx.name}` : ""}) wait`,
                      resource,
                      waitKind: "mutex",
                      enabled: () => owner === undefined || (ctx !== undefined && mustDie(ctx)),
                      footprint: (a) => a.fp ?? writes,
                      apply: (): Attempt => ({ ...(owner === undefined ? take(ctx) : die(ctx!)), fp: touched(ctx, []) }),
                      show,
                      holds,
                      lockEvents: lockEvents(ctx)
                    }),
                    result
                  )
          )
        const ctxOf = (c: AcquireCtx | undefined) => (c === undefined ? undefined : contexts.get(c))
        return {
          ...resource,
          owner: () => owner,
          lock: (c) => lock(ctxOf(c), "ww_mutex_lock"),
          lockSlow: (c) => {
            const ctx = ctxOf(c)!
            return Effect.gen(function* () {
              if (ctx.contending === undefined)
                yield* kernel.warn(
                  `DEBUG_LOCKS_WARN_ON(!ctx->contending_lock): ww_mutex_lock_slow(${id}, ${ctx.name}) without a preceding -EDEADLK`
                )
              const ret = yield* lock(ctx, "ww_mutex_lock_slow")
              if (ret !== 0) yield* kernel.warn(`WARN_ON(ret): ww_mutex_lock_slow(${id}, ${ctx.name}) returned ${ret}`)
            })
          },
          trylock: (c) => {
            const ctx = ctxOf(c)
            return Effect.map(
              kernel.point<Attempt>({
                name: "ww_mutex_trylock",
                label: `ww_mutex_trylock(${id}${ctx ? `, ${ctx.name}` : ""})`,
                resource,
                spin: "trylock",
                apply: (): Attempt => (owner === undefined ? { ...take(ctx), fp: touched(ctx, []) } : { _tag: "busy" }),
                succeeded: (a) => a._tag === "acquired",
                show: (a) => (a._tag === "acquired" ? "1" : "0"),
                footprint: (a) => (a._tag === "acquired" ? (a.fp ?? writes) : reads),
                holds,
                lockEvents: (a) =>
                  a._tag === "acquired" && (ctx === undefined || a.first) ? [{ ...event("acquire")[0]!, trylock: true }] : []
              }),
              (a) => a._tag === "acquired"
            )
          },
          unlock: Effect.flatMap(
            kernel.point<{ readonly warn?: string; readonly last: boolean }>({
              name: "ww_mutex_unlock",
              label: `ww_mutex_unlock(${id})`,
              resource,
              footprint: writes,
              apply: () => {
                const me = kernel.current()
                if (owner !== me) return { warn: `ww_mutex_unlock(${id}) by ${me}, owner is ${owner ?? "nobody"}`, last: false }
                const ctx = holder
                owner = undefined
                holder = undefined
                if (ctx === undefined) return { last: true }
                ctx.acquired--
                ctx.held--
                return { last: ctx.held === 0 }
              },
              releases: (r) => (r.warn === undefined ? [id] : []),
              lockEvents: (r) => (r.warn === undefined && r.last ? event("release") : [])
            }),
            (r) => warnIf(r.warn)
          )
        }
      })

    return { name, acquireInit, mutex }
  })
