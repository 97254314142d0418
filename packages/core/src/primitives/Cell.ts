/**
 * A kernel cell: one plain member of a C struct (`esw->num_vfs`,
 * `fdb_created`, a notifier's `registered`), owned by the component whose
 * struct it belongs to.
 *
 * Reading or writing a cell is not a scheduling point — in C it is an
 * ordinary load or store between two synchronisation operations — but the
 * engine records every access with the task, the locks it holds and the step.
 * That record is what the explorer needs twice:
 *
 * - a step's footprint (the op at its point plus every cell the task touches
 *   until its next point), which partial-order reduction uses to tell which
 *   steps commute;
 * - the data-race check, as KCSAN does it: two accesses to a plain cell by
 *   different tasks, at least one a write, not both marked, with no
 *   happens-before order between them (no common lock, no completion, no
 *   queue_work → work edge…).
 *
 * Marked accesses (`readOnce`/`writeOnce`, the C's `READ_ONCE`/`WRITE_ONCE`)
 * are recorded but never race with each other, as in KCSAN. A `ghost` cell is
 * model bookkeeping that the C does not have (an epoch read by invariants): it
 * is part of footprints but never races.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { Kernel } from "../Kernel.ts"

/**
 * How an access is made: `plain` (a C load/store), `marked` (`READ_ONCE` /
 * `WRITE_ONCE` / `data_race()`), `ghost` (model-only state).
 *
 * @category models
 * @since 0.2.0
 */
export type AccessKind = "plain" | "marked" | "ghost"

/**
 * A kernel cell.
 *
 * @category models
 * @since 0.2.0
 */
export interface Cell<A> {
  /** Unique within a run: `esw->num_vfs`, `pf0/esw->fdb_created`. */
  readonly key: string
  /** A plain load. */
  readonly get: Effect.Effect<A>
  /** A plain store. */
  readonly set: (value: A) => Effect.Effect<void>
  /** A plain load-modify-store (not atomic: the load and the store are one step of the task only because no point lies between them). */
  readonly update: (f: (a: A) => A) => Effect.Effect<A>
  /** `READ_ONCE()` */
  readonly readOnce: Effect.Effect<A>
  /** `WRITE_ONCE()` */
  readonly writeOnce: (value: A) => Effect.Effect<void>
  /** The value, for invariants and probes (recorded as an observer's read, never a task's). */
  readonly peek: () => A
}

/**
 * Options of a cell.
 *
 * @category models
 * @since 0.2.0
 */
export interface CellOptions<A> {
  /** Rendering in snapshots. */
  readonly show?: (a: A) => string
  /** Model-only state: in footprints, never in the race check. */
  readonly ghost?: boolean
  /** Not shown in snapshots (large or derived values). */
  readonly hidden?: boolean
}

/**
 * Creates a kernel cell.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cell } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const numVfs = yield* Cell.make("esw->num_vfs", 0)
 *   yield* numVfs.set(2)                 // a plain store: recorded, not a scheduling point
 *   const n = yield* numVfs.get
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const make = <A>(key: string, initial: A, options?: CellOptions<A>): Effect.Effect<Cell<A>, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let value = initial
    const kind: AccessKind = options?.ghost ? "ghost" : "plain"
    const marked: AccessKind = options?.ghost ? "ghost" : "marked"
    const show = options?.show ?? ((a: A) => String(a))
    if (options?.hidden !== true) kernel.probe(key, () => show(value))
    const load = (k: AccessKind) =>
      Effect.sync(() => {
        kernel.access(key, "read", k)
        return value
      })
    const store = (k: AccessKind) => (next: A) =>
      Effect.sync(() => {
        kernel.access(key, "write", k)
        value = next
      })
    return {
      key,
      get: load(kind),
      set: store(kind),
      update: (f: (a: A) => A) =>
        Effect.sync(() => {
          kernel.access(key, "read", kind)
          kernel.access(key, "write", kind)
          value = f(value)
          return value
        }),
      readOnce: load(marked),
      writeOnce: store(marked),
      peek: () => {
        kernel.access(key, "read", "ghost")
        return value
      }
    }
  })
