/**
 * `atomic_t`: a value in an Effect `Ref`, read and written only at scheduling
 * points (`atomic_read`, `atomic_set`, `atomic_inc`, `atomic_cmpxchg`,
 * `atomic_cond_read_relaxed`).
 *
 * An atomic used as a home-grown lock (the V1 representor guard spins until
 * it moves UNBLOCKED -> BLOCKED) can be declared `lockLike`: the model then
 * tracks the task that made the acquiring transition, for reports and
 * lock-order analysis only. The kernel keeps no owner; behaviour never
 * depends on this bookkeeping.
 *
 * @since 0.1.0
 */
import { Effect, MutableRef, Ref } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled atomic.
 *
 * @category models
 * @since 0.1.0
 */
export interface Atomic<A> extends Resource {
  /** `atomic_read()` */
  readonly read: Effect.Effect<A>
  /** `atomic_set()` */
  readonly set: (value: A) => Effect.Effect<void>
  /** A read-modify-write named after its kernel function (`atomic_inc`); returns the new value. */
  readonly update: (name: string, f: (a: A) => A) => Effect.Effect<A>
  /** `atomic_cmpxchg()`: returns the old value; it succeeded iff that equals `expected`. */
  readonly cmpxchg: (expected: A, next: A) => Effect.Effect<A>
  /** `atomic_cond_read_relaxed()`: busy-waits (burning CPU) until `pred` holds; returns the value. */
  readonly condRead: (pred: (a: A) => boolean, describe: string) => Effect.Effect<A>
  /** The value, without a scheduling point: for invariants and probes only (recorded as an observer's read). */
  readonly peek: () => A
}

/**
 * Options of an atomic.
 *
 * @category models
 * @since 0.1.0
 */
export interface AtomicOptions<A> {
  readonly show?: (a: A) => string
  /** Declare the atomic a home-grown lock: `held(v)` says whether value `v` means "taken". */
  readonly lockLike?: { readonly held: (a: A) => boolean; readonly lockClass?: string }
}

/**
 * Creates an atomic.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Atomic } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const generation = yield* Atomic.make("esw->generation", 0)
 *   yield* Atomic.inc(generation)
 *   const stale = (yield* generation.read) !== 0
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(id: string, initial: A, options?: AtomicOptions<A>): Effect.Effect<Atomic<A>, never, Kernel> =>
  Kernel.useSync((kernel) => {
    const ref = Ref.makeUnsafe(initial)
    // The Ref stays private: every change goes through a point, so none escapes the schedule or the trace.
    const get = () => MutableRef.get(ref.ref)
    const put = (a: A) => {
      MutableRef.set(ref.ref, a)
    }
    const show = options?.show ?? ((a: A) => String(a))
    const lockLike = options?.lockLike
    const lockClass = lockLike?.lockClass ?? id
    let owner: string | undefined
    const resource: Resource = {
      id,
      kind: lockLike ? "atomic-lock" : "atomic",
      lockClass,
      holders: () => (lockLike?.held(get()) ? [owner ?? "?"] : []),
      state: () => (lockLike && owner !== undefined && lockLike.held(get()) ? `${show(get())} (by ${owner})` : show(get()))
    }
    kernel.register(resource)
    const held = { resource: id, lockClass, mode: "write" as const }
    // Footprints: a read (atomic_read, a failed cmpxchg, a cond-read) reads the atomic; set, RMW
    // and a successful cmpxchg write it. A cond-read blocked on a value is enabled only by a write.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    // Transition bookkeeping for lock-like atomics: into "held" acquires, out of it releases.
    const transition = (before: A, after: A) => {
      if (!lockLike) return "none" as const
      const was = lockLike.held(before)
      const is = lockLike.held(after)
      if (!was && is) {
        owner = kernel.current()
        return "acquire" as const
      }
      if (was && !is) {
        owner = undefined
        return "release" as const
      }
      return "none" as const
    }
    type Step = { readonly value: A; readonly t: "acquire" | "release" | "none" }
    const lockOps = {
      holds: (s: Step) => (s.t === "acquire" ? held : undefined),
      releases: (s: Step) => (s.t === "release" ? [id] : []),
      lockEvents: (s: Step) =>
        s.t === "acquire"
          ? [{ type: "acquire" as const, lockClass, resource: id, mode: "write" as const }]
          : s.t === "release"
            ? [{ type: "release" as const, lockClass, resource: id, mode: "write" as const }]
            : []
    }
    const write = (name: string, f: (a: A) => A) =>
      Effect.map(
        kernel.point<Step>({
          name,
          label: `${name}(${id})`,
          resource,
          footprint: writes,
          apply: () => {
            const before = get()
            const after = f(before)
            put(after)
            return { value: after, t: transition(before, after) }
          },
          show: (s) => show(s.value),
          ...lockOps
        }),
        (s) => s.value
      )
    return {
      ...resource,
      peek: () => {
        kernel.access(id, "read", "ghost")
        return get()
      },
      read: kernel.point({ name: "atomic_read", label: `atomic_read(${id})`, resource, footprint: reads, apply: get, show }),
      set: (value: A) => Effect.asVoid(write("atomic_set", () => value)),
      update: write,
      cmpxchg: (expected: A, next: A) =>
        Effect.map(
          kernel.point<Step>({
            name: "atomic_cmpxchg",
            label: `atomic_cmpxchg(${id}, ${show(expected)}, ${show(next)})`,
            resource,
            spin: "attempt",
            apply: () => {
              const before = get()
              if (before !== expected) return { value: before, t: "none" }
              put(next)
              return { value: before, t: transition(before, next) }
            },
            succeeded: (s) => s.value === expected,
            footprint: (s) => (s.value === expected ? writes : reads),
            show: (s) => show(s.value),
            ...lockOps
          }),
          (s) => s.value
        ),
      condRead: (pred: (a: A) => boolean, describe: string) =>
        kernel.point({
          name: "atomic_cond_read_relaxed",
          label: `atomic_cond_read_relaxed(${id}, ${describe})`,
          resource,
          waitKind: "spin",
          busyWait: true,
          enabled: () => pred(get()),
          footprint: reads,
          apply: get,
          show
        })
    }
  })

/**
 * `atomic_inc()`; returns the new value.
 *
 * @category combinators
 * @since 0.1.0
 */
export const inc = (a: Atomic<number>): Effect.Effect<number> => a.update("atomic_inc", (n) => n + 1)

/**
 * `atomic_dec()`; returns the new value.
 *
 * @category combinators
 * @since 0.1.0
 */
export const dec = (a: Atomic<number>): Effect.Effect<number> => a.update("atomic_dec", (n) => n - 1)
