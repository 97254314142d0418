/**
 * Chrome trace-event JSON of a counterexample, for Perfetto
 * (ui.perfetto.dev) or chrome://tracing. The time axis is the step axis: one
 * step is drawn as 1 ms (virtual time is in each event's args). Each task is a
 * thread: modelled kernel functions are B/E slices, operations are X slices
 * inside them; a second thread per task, "<task> locks", shows each lock it
 * holds as a slice from acquisition to release. The stuck operations and
 * the finding close the trace.
 *
 * @since 0.1.0
 */
import type { Counterexample } from "../Explorer.ts"
import type { Trace } from "../Trace.ts"
import * as Timeline from "./Timeline.ts"

/** Microseconds per step. */
const STEP = 1000

/**
 * A trace event (the subset of the format used here).
 *
 * @category models
 * @since 0.1.0
 */
export interface TraceEvent {
  readonly name: string
  readonly cat?: string
  readonly ph: "X" | "B" | "E" | "i" | "M"
  readonly ts: number
  readonly dur?: number
  readonly pid: number
  readonly tid: number
  readonly s?: "g" | "p" | "t"
  readonly args?: Readonly<Record<string, unknown>>
}

/**
 * The trace events of a counterexample.
 *
 * @category rendering
 * @since 0.1.0
 */
export const events = (cx: Counterexample, options: { readonly trace?: Trace } = {}): Array<TraceEvent> => {
  const t = Timeline.of(cx, options.trace)
  const pid = 1
  const tid = new Map(t.tasks.map((task, i) => [task, i * 2 + 1]))
  const out: Array<TraceEvent> = [
    {
      name: "process_name",
      ph: "M",
      ts: 0,
      pid,
      tid: 0,
      args: { name: `${cx.scenario}${cx.variant !== undefined ? ` (${cx.variant})` : ""}: ${cx.kind}` }
    }
  ]
  t.tasks.forEach((task, i) => {
    out.push({ name: "thread_name", ph: "M", ts: 0, pid, tid: tid.get(task)!, args: { name: task } })
    out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid: tid.get(task)!, args: { sort_index: i * 2 } })
    out.push({ name: "thread_name", ph: "M", ts: 0, pid, tid: tid.get(task)! + 1, args: { name: `${task} locks` } })
    out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid: tid.get(task)! + 1, args: { sort_index: i * 2 + 1 } })
  })
  // Position of each op on the axis; calls/returns sit at the position of the next op.
  let index = 0
  const open = new Map<string, Array<string>>()
  const heldSince = new Map<string, Map<string, number>>()
  for (const e of t.events) {
    const id = tid.get(e.task)
    if (e.kind === "op") {
      const ts = index * STEP
      index++
      if (id === undefined) continue
      out.push({
        name: Timeline.labelOf(e),
        cat: "op",
        ph: "X",
        ts,
        dur: STEP,
        pid,
        tid: id,
        args: {
          step: e.step,
          time: e.time,
          ...(e.func !== undefined ? { func: e.func } : {}),
          holds: e.holds ?? [],
          ...(e.preempted === true ? { preempted: true } : {}),
          ...(e.state !== undefined ? { state: e.state } : {})
        }
      })
      // Lock slices: close what was released, open what was acquired.
      const since = heldSince.get(e.task) ?? new Map<string, number>()
      heldSince.set(e.task, since)
      const now = new Set(e.holds ?? [])
      for (const [lock, from] of [...since]) {
        if (now.has(lock)) continue
        out.push({ name: lock, cat: "lock", ph: "X", ts: from, dur: ts + STEP - from, pid, tid: id + 1 })
        since.delete(lock)
      }
      for (const lock of now) if (!since.has(lock)) since.set(lock, ts + STEP)
    } else if (e.kind === "call" && id !== undefined) {
      out.push({
        name: e.name,
        cat: e.component ?? "call",
        ph: "B",
        ts: index * STEP,
        pid,
        tid: id,
        args: { component: e.component ?? "" }
      })
      const stack = open.get(e.task) ?? []
      stack.push(e.name)
      open.set(e.task, stack)
    } else if (e.kind === "return" && id !== undefined) {
      const stack = open.get(e.task)
      if (stack === undefined || stack.length === 0) continue
      stack.pop()
      out.push({ name: e.name, ph: "E", ts: index * STEP, pid, tid: id })
    } else if (e.kind === "warn" && id !== undefined) {
      out.push({ name: `WARN: ${e.name}`, cat: "warn", ph: "i", s: "t", ts: index * STEP, pid, tid: id })
    }
  }
  const end = index * STEP
  for (const b of t.stuck.values()) {
    const id = tid.get(b.task)
    if (id === undefined) continue
    out.push({
      name: `${b.spinning ? "spins" : "blocked"}: ${b.op}`,
      cat: "stuck",
      ph: "X",
      ts: end,
      dur: STEP,
      pid,
      tid: id,
      args: { waitsFor: b.resource ?? "", heldBy: b.holders, holds: b.holds }
    })
  }
  const last = end + (t.endsStuck ? STEP : 0)
  // Close what is still open: calls (innermost first) and held locks.
  for (const [task, stack] of open) {
    const id = tid.get(task)!
    while (stack.length > 0) out.push({ name: stack.pop()!, ph: "E", ts: last, pid, tid: id })
  }
  for (const [task, since] of heldSince) {
    const id = tid.get(task)!
    for (const [lock, from] of since)
      out.push({ name: lock, cat: "lock", ph: "X", ts: from, dur: Math.max(0, last - from), pid, tid: id + 1 })
  }
  out.push({
    name: t.verdict.replace(/\*/g, "").trim(),
    cat: "finding",
    ph: "i",
    s: "g",
    ts: last,
    pid,
    tid: 0,
    args: { summary: cx.finding.summary }
  })
  return out
}

/**
 * Renders a counterexample as Chrome trace-event JSON (`{ "traceEvents": [...] }`).
 *
 * @example
 * ```ts
 * import { Render, type Counterexample } from "@drvmodel/core"
 * declare const cx: Counterexample
 * const json = Render.ChromeTrace.render(cx) // open in ui.perfetto.dev
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const render = (cx: Counterexample, options: { readonly trace?: Trace } = {}): string =>
  `${JSON.stringify({ traceEvents: events(cx, options), displayTimeUnit: "ms", otherData: { scenario: cx.scenario, variant: cx.variant ?? "", kind: cx.kind, summary: cx.finding.summary } })}\n`
