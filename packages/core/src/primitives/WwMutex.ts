/**
 * `struct ww_mutex` and `struct ww_acquire_ctx`: wound/wait mutexes for
 * acquiring a set of locks in any order (include/linux/ww_mutex.h,
 * kernel/locking/ww_mutex.h), with the wait-die algorithm of a class made by
 * `DEFINE_WD_CLASS`.
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
 * Not modelled: the wound-wait algorithm (`DEFINE_WW_CLASS`), where an older
 * context wounds the younger holder instead; `ww_mutex_lock_interruptible`
 * (no signals in the model).
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
 * A wait-die class (`DEFINE_WD_CLASS`): its contexts and its mutexes.
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
}

/** What one lock attempt did. */
type Attempt =
  | { readonly _tag: "acquired"; readonly warn?: string; readonly first: boolean }
  | { readonly _tag: "deadlk"; readonly warn?: string }
  | { readonly _tag: "already" }
  | { readonly _tag: "wait" }
  | { readonly _tag: "busy" }

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
export const wdClass = (name: string): Effect.Effect<WwClass, never, Kernel> =>
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
            return {
              ctx: { name: ctxName, task, stamp: ++stamps, acquired: 0, done: false, finished: false, contending: undefined, held: 0 },
              second
            }
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
        /** Wait-die: a context holding locks dies rather than wait behind an older one. */
        const mustDie = (ctx: Ctx) =>
          ctx.acquired > 0 &&
          ((holder !== undefined && holder.stamp < ctx.stamp) || [...waiting].some((w) => w !== ctx && w.stamp < ctx.stamp))
        const take = (ctx: Ctx | undefined): Attempt => {
          owner = kernel.current()
          holder = ctx
          if (ctx === undefined) return { _tag: "acquired", first: true }
          waiting.delete(ctx)
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
              footprint: writes,
              apply: () => {
                if (ctx !== undefined && holder === ctx) return { _tag: "already" }
                if (owner === undefined) return take(ctx)
                if (ctx !== undefined && mustDie(ctx)) return die(ctx)
                if (ctx !== undefined) waiting.add(ctx)
                return { _tag: "wait" }
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
                      footprint: writes,
                      apply: () => (owner === undefined ? take(ctx) : die(ctx!)),
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
                apply: () => (owner === undefined ? take(ctx) : { _tag: "busy" }),
                succeeded: (a) => a._tag === "acquired",
                show: (a) => (a._tag === "acquired" ? "1" : "0"),
                footprint: (a) => (a._tag === "acquired" ? writes : reads),
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
