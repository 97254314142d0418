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

type Clock = Array<number>

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
  for (let i = 0; i < from.length; i++) if ((into[i] ?? 0) < from[i]!) into[i] = from[i]!
}

export class HappensBefore {
  private readonly clocks: Array<Clock> = []
  private readonly sync = new Map<string, Clock>()
  private readonly cells = new Map<string, CellState>()

  /** A new task, ordered after everything its parent did so far. */
  spawn(parent: number | undefined, child: number): void {
    const c: Clock = parent === undefined ? [] : this.clocks[parent]!.slice()
    c[child] = 1
    this.clocks[child] = c
    if (parent !== undefined) this.tick(parent)
  }

  /** The synchronisation of one op: acquire every key it touches, release the ones it writes. */
  op(task: number, footprint: ReadonlyArray<Access> | undefined): void {
    const c = this.clocks[task]!
    if (footprint === undefined) {
      for (const k of this.sync.values()) join(c, k)
      for (const k of this.sync.values()) join(k, c)
      this.fence = c.slice()
    } else {
      if (this.fence !== undefined) join(c, this.fence)
      for (const a of footprint) {
        const k = this.sync.get(a.key)
        if (k !== undefined) join(c, k)
      }
      for (const a of footprint) {
        if (a.mode !== "write") continue
        const k = this.sync.get(a.key)
        if (k === undefined) this.sync.set(a.key, c.slice())
        else join(k, c)
      }
    }
    this.tick(task)
  }

  /** A task's exit, released to `key` (what `join` acquires). */
  release(task: number, key: string): void {
    const c = this.clocks[task]!
    const k = this.sync.get(key)
    if (k === undefined) this.sync.set(key, c.slice())
    else join(k, c)
  }

  /** An access to a cell; the race it completes, if any. */
  access(cell: string, task: number, access: CellAccess): Race | undefined {
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

  private tick(task: number): void {
    const c = this.clocks[task]!
    c[task] = (c[task] ?? 0) + 1
  }
}
