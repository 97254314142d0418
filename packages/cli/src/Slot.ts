/**
 * Shared memory between the parent and one task running in a worker thread:
 * progress counters the parent sums into one progress bar, a heartbeat (one
 * tick per scheduling point), and the steps of the run in progress (task,
 * operation and kernel function per step, as ids into a string table in the
 * same buffer). A worker stuck in a plain JavaScript loop cannot answer a
 * message, but its last writes stay readable here: that is how the watchdog
 * says what it was running. Plain (non-atomic) writes suffice: the parent
 * only reads counters and, once the worker is terminated, the steps.
 *
 * @since 0.1.0
 */
import type { OpObserver } from "@drvmodel/core"

const STATE = 0
const HEARTBEAT = 1
const RUNS = 2
const FINDINGS = 3
const RUN_INDEX = 4
const PREFIX_LEN = 5
const STRINGS_USED = 6
const HEADER = 8
/** Steps of the current run kept (3 ids each); longer runs keep their first steps and count the rest. */
const STEPS = 8192
const STRING_BYTES = 1 << 16

/** What the task is doing. */
export const State = { queued: 0, running: 1, done: 2 } as const

/**
 * Allocates a slot.
 *
 * @example
 * ```ts
 * import { Slot } from "@drvmodel/cli"
 * const slot = Slot.make()
 * Slot.read(slot).state // => 0
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (): SharedArrayBuffer => new SharedArrayBuffer((HEADER + 3 * STEPS) * 4 + STRING_BYTES)

const ints = (slot: SharedArrayBuffer) => new Int32Array(slot, 0, HEADER + 3 * STEPS)
const bytes = (slot: SharedArrayBuffer) => new Uint8Array(slot, (HEADER + 3 * STEPS) * 4, STRING_BYTES)

/**
 * The counters of a slot.
 *
 * @category getters
 * @since 0.1.0
 */
export const read = (slot: SharedArrayBuffer) => {
  const i = ints(slot)
  return { state: i[STATE]!, heartbeat: i[HEARTBEAT]!, runs: i[RUNS]!, findings: i[FINDINGS]! }
}

/**
 * The worker's side of a slot: state and progress setters, and an observer
 * that records every step (ticking the heartbeat).
 *
 * @example
 * ```ts
 * import { Slot } from "@drvmodel/cli"
 * const writer = Slot.writer(Slot.make())
 * writer.setState(Slot.State.running)
 * writer.progress({ runs: 10, findings: 1 })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const writer = (slot: SharedArrayBuffer) => {
  const i = ints(slot)
  const b = bytes(slot)
  const ids = new Map<string, number>()
  const encoder = new TextEncoder()
  const intern = (s: string | undefined): number => {
    if (s === undefined) return -1
    let id = ids.get(s)
    if (id !== undefined) return id
    // Entry: 2-byte length, then UTF-8. A full table yields -1 ("unknown"), never an overflow.
    const used = i[STRINGS_USED]!
    const encoded = encoder.encode(s.slice(0, 2000))
    if (used + 2 + encoded.length > STRING_BYTES) return -1
    b[used] = encoded.length & 0xff
    b[used + 1] = encoded.length >> 8
    b.set(encoded, used + 2)
    i[STRINGS_USED] = used + 2 + encoded.length
    id = ids.size
    ids.set(s, id)
    return id
  }
  let lastStep = Number.POSITIVE_INFINITY
  let run = -1
  const observer: OpObserver = {
    onOp: ({ task, op, func, step }) => {
      // Steps restart at 0 with every run.
      if (step <= lastStep) i[RUN_INDEX] = ++run
      lastStep = step
      if (step < STEPS) {
        const at = HEADER + 3 * step
        i[at] = intern(task)
        i[at + 1] = intern(op.label)
        i[at + 2] = intern(func)
      }
      i[PREFIX_LEN] = step + 1
      i[HEARTBEAT] = (i[HEARTBEAT]! + 1) | 0
    }
  }
  return {
    setState: (s: number): void => {
      i[STATE] = s
    },
    progress: (p: { readonly runs: number; readonly findings: number }): void => {
      i[RUNS] = p.runs
      i[FINDINGS] = p.findings
    },
    observer
  }
}

/**
 * One recorded step.
 *
 * @category models
 * @since 0.1.0
 */
export interface Step {
  readonly task: string
  readonly op: string
  readonly func?: string
}

/**
 * What a slot says about the run in progress: its index among the runs of
 * the exploration, how many steps it had taken, and those steps (up to 8192).
 *
 * @category getters
 * @since 0.1.0
 */
export const lastRun = (
  slot: SharedArrayBuffer
): { readonly run: number; readonly steps: number; readonly prefix: ReadonlyArray<Step> } => {
  const i = ints(slot)
  const b = bytes(slot)
  const decoder = new TextDecoder()
  const table: Array<string> = []
  for (let at = 0; at + 2 <= i[STRINGS_USED]!; ) {
    const len = b[at]! | (b[at + 1]! << 8)
    table.push(decoder.decode(b.slice(at + 2, at + 2 + len)))
    at += 2 + len
  }
  const name = (id: number) => (id >= 0 ? (table[id] ?? "?") : "?")
  const steps = i[PREFIX_LEN]!
  const prefix: Array<Step> = []
  for (let s = 0; s < Math.min(steps, STEPS); s++) {
    const at = HEADER + 3 * s
    const func = i[at + 2]!
    prefix.push({ task: name(i[at]!), op: name(i[at + 1]!), ...(func >= 0 ? { func: name(func) } : {}) })
  }
  return { run: i[RUN_INDEX]!, steps, prefix }
}
