/**
 * The data-race check: happens-before by vector clocks (as ThreadSanitizer and
 * FastTrack do), reported the way KCSAN words it.
 *
 * Happens-before comes from the kernel objects a step synchronises through —
 * the keys of its op's footprint (locks, atomics, workqueues, completions,
 * wait queues, a joined task) treated as acquire (read) and release (write) —
 * and from spawning. An op that declares no footprint is a full fence: it may
 * hide a race but never invents one. Kernel cells carry no order: their
 * accesses are what is checked.
 *
 * Nothing is tracked until the first cell access of the run. Why that loses nothing: a race is
 * a pair of accesses, both at or after that first one, and happens-before between two events is
 * a path of program-order and synchronisation edges, each going forward in the execution, so
 * every event on it lies between the two: the relation restricted to the run's suffix from the
 * first access is the suffix's own. Clocks started there (each task at its own first tick,
 * knowing nothing of the others) decide exactly what clocks started at the beginning would.
 * A model that never touches a cell (the classic examples, the engine benchmarks) pays nothing
 * for the check; one that does pays from its first access on.
 */
import type { Access } from "../Kernel.ts"

/** One recorded access to a cell. */
export interface CellAccess {
  readonly task: string
  readonly mode: "read" | "write"
  readonly marked: boolean
  readonly step: number
  readonly func: string | undefined
  readonly holds: ReadonlyArray<string>
  /** The free of a slab object (what was freed, and how): it conflicts with every access. */
  readonly free?: string
}

/** Two conflicting accesses with no happens-before order between them. */
export interface Race {
  readonly cell: string
  readonly first: CellAccess
  readonly second: CellAccess
}

/**
 * A vector clock, dense: every entry up to its length is a number (no holes), so joins run over
 * packed small-integer arrays; entries past the length are 0.
 */
type Clock = Array<number>

/** A synchronisation object's clock, and the task whose op last made it (-1: several, or unknown). */
interface Sync {
  readonly clock: Clock
  /**
   * The task whose op last wrote the key, if that op's release left the clock equal to the
   * task's own (it acquired the key first): until another task writes the key, that task's clock
   * is already at least the key's, so its acquire is skipped.
   */
  by: number
}

interface Epoch {
  readonly task: number
  readonly time: number
  readonly access: CellAccess
}

interface CellState {
  write: Epoch | undefined
  /** The last read of each task since the last write. */
  reads: Map<number, Epoch>
}

const join = (into: Clock, from: Clock): void => {
  const n = from.length
  while (into.length < n) into.push(0)
  for (let i = 0; i < n; i++) if (into[i]! < from[i]!) into[i] = from[i]!
}

export class HappensBefore {
  private readonly clocks: Array<Clock> = []
  private readonly sync = new Map<string, Sync>()
  private readonly cells = new Map<string, CellState>()
  /** A cell has been accessed: from then on synchronisation is tracked (see the module comment). */
  private started = false
  /** Tasks known so far, before the start (their clocks are made at the start). */
  private tasks = 0

  /** A new task, ordered after everything its parent did so far. */
  spawn(parent: number | undefined, child: number): void {
    if (!this.started) {
      this.tasks = Math.max(this.tasks, child + 1)
      return
    }
    const c: Clock = parent === undefined ? [] : this.clocks[parent]!.slice()
    while (c.length <= child) c.push(0)
    c[child] = 1
    this.clocks[child] = c
    if (parent !== undefined) this.tick(parent)
  }

  /** The synchronisation of one op: acquire every key it touches, release the ones it writes. */
  op(task: number, footprint: ReadonlyArray<Access> | undefined): void {
    if (!this.started) return
    const c = this.clocks[task]!
    if (footprint === undefined) {
      for (const k of this.sync.values()) join(c, k.clock)
      for (const k of this.sync.values()) {
        join(k.clock, c)
        k.by = -1
      }
      this.fence = c.slice()
      this.fences++
    } else {
      if (this.fence !== undefined && this.fenceSeen[task] !== this.fences) {
        join(c, this.fence)
        this.fenceSeen[task] = this.fences
      }
      for (const a of footprint) {
        const k = this.sync.get(a.key)
        if (k !== undefined && k.by !== task) join(c, k.clock)
      }
      // c now includes every key it touches, so a key it writes ends equal to c.
      for (const a of footprint) {
        if (a.mode !== "write") continue
        const k = this.sync.get(a.key)
        if (k === undefined) this.sync.set(a.key, { clock: c.slice(), by: task })
        else {
          join(k.clock, c)
          k.by = task
        }
      }
    }
    this.tick(task)
  }

  /** A task's exit, released to `key` (what `join` acquires). */
  release(task: number, key: string): void {
    if (!this.started) return
    const c = this.clocks[task]!
    const k = this.sync.get(key)
    if (k === undefined) this.sync.set(key, { clock: c.slice(), by: -1 })
    else {
      join(k.clock, c)
      k.by = -1
    }
  }

  /** An access to a cell; the race it completes, if any. */
  access(cell: string, task: number, access: CellAccess): Race | undefined {
    if (!this.started) this.start()
    let s = this.cells.get(cell)
    if (s === undefined) {
      s = { write: undefined, reads: new Map() }
      this.cells.set(cell, s)
    }
    const c = this.clocks[task]!
    const ordered = (e: Epoch) => e.task === task || (c[e.task] ?? 0) >= e.time
    const freeing = access.free !== undefined
    const conflicts = (e: Epoch) => !ordered(e) && (freeing || e.access.free !== undefined || !(e.access.marked && access.marked))
    const epoch: Epoch = { task, time: c[task]!, access }
    if (s.write !== undefined && conflicts(s.write)) return { cell, first: s.write.access, second: access }
    if (access.mode === "write") {
      for (const r of s.reads.values()) if (conflicts(r)) return { cell, first: r.access, second: access }
      s.write = epoch
      s.reads.clear()
    } else s.reads.set(task, epoch)
    return undefined
  }

  /** The clock of the last undeclared op: every later op is ordered after it. */
  private fence: Clock | undefined
  /** Fences so far, and the last one each task's clock has joined (a fence's clock never changes). */
  private fences = 0
  private readonly fenceSeen: Array<number> = []

  /** The first cell access: every task known so far starts its clock here (see the module comment). */
  private start(): void {
    this.started = true
    for (let i = 0; i < this.tasks; i++) {
      const c: Clock = new Array<number>(i + 1).fill(0)
      c[i] = 1
      this.clocks[i] = c
    }
  }

  private tick(task: number): void {
    const c = this.clocks[task]!
    c[task] = (c[task] ?? 0) + 1
  }
}
