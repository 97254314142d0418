/**
 * The lockdep-style text report of a counterexample: what went wrong (the
 * blocked tasks with what they wait for and who holds it, and the cycle; the
 * spinning tasks; or the broken invariant with the model state), then the
 * interleaving as lockdep's "unsafe locking scenario" table generalised to n
 * lanes, one column per task, ending with the verdict.
 *
 * @since 0.1.0
 */
import type { Counterexample } from "../Explorer.ts"
import type { BlockedTask } from "../Finding.ts"
import type { Trace } from "../Trace.ts"
import * as Timeline from "./Timeline.ts"

/**
 * Options for the text report.
 *
 * @category models
 * @since 0.1.0
 */
export interface TextOptions {
  /** A richer trace of the same run (e.g. replayed with state). */
  readonly trace?: Trace
  /** A command that replays the counterexample, printed at the end. */
  readonly replayCommand?: string
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const describeBlocked = (b: BlockedTask): Array<string> => {
  const where = b.func !== undefined ? ` in ${b.func}()` : ""
  const lines = [`  ${b.task}${where} is ${b.spinning ? "spinning" : "blocked"} at ${b.op} (${b.waitKind})`]
  if (b.resource !== undefined) {
    const exited = new Set(b.exited ?? [])
    const holders = b.holders.filter((h) => h !== b.task).map((h) => (exited.has(h) ? `${h} (exited)` : h))
    const behind = b.behind?.length ? `, behind ${b.behind.join(", ")} (queued for it)` : ""
    lines.push(
      `      waits for ${b.resource}${holders.length > 0 ? `, held by ${holders.join(", ")}` : b.holders.includes(b.task) ? ", held by itself" : ", held by nobody that can run"}${behind}`
    )
  }
  lines.push(`      holds ${b.holds.length > 0 ? b.holds.join(", ") : "no locks"}`)
  return lines
}

const header = (cx: Counterexample): Array<string> => {
  const p = cx.finding.problem
  const where = `scenario "${cx.scenario}"${cx.variant !== undefined ? `, variant ${cx.variant}` : ""}`
  const lines: Array<string> = []
  switch (p._tag) {
    case "Deadlock": {
      lines.push(`DEADLOCK in ${where}: ${p.blocked.length} task${p.blocked.length === 1 ? "" : "s"} can never run again`, "")
      for (const b of p.blocked) lines.push(...describeBlocked(b))
      const chain = Timeline.cycleChain(p)
      lines.push(
        "",
        chain !== undefined ? `  wait-for cycle: ${chain}` : "  no wait-for cycle: the tasks wait for events nobody will signal"
      )
      break
    }
    case "Livelock": {
      lines.push(
        p.reason === "endless-spin"
          ? `LIVELOCK in ${where}: tasks busy-wait for a condition nothing can make true`
          : `LIVELOCK in ${where}: tasks only retried for ${p.steps} steps without progress`,
        ""
      )
      for (const b of p.spinning) lines.push(...describeBlocked({ ...b, spinning: true }))
      for (const b of p.blocked) lines.push(...describeBlocked(b))
      const chain = Timeline.cycleChain(p)
      if (chain !== undefined) lines.push("", `  wait-for cycle: ${chain}`)
      break
    }
    case "InvariantViolation": {
      lines.push(
        `INVARIANT BROKEN in ${where}: ${p.invariant} (${p.when}), after step ${cx.finding.step}`,
        `  ${p.message}`,
        "",
        "  state:"
      )
      const keys = Object.keys(p.state)
      const w = Math.max(0, ...keys.map((k) => k.length))
      for (const k of keys) lines.push(`    ${k.padEnd(w)} = ${p.state[k]}`)
      if (keys.length === 0) lines.push("    (no state probes)")
      break
    }
    case "Defect":
      lines.push(`DEFECT in ${where}: task ${p.task}`, `  ${p.message}`)
      break
    case "DataRace":
      lines.push(`DATA RACE in ${where}`, `  ${Timeline.raceInWords(p)}`)
      break
    case "Runaway":
      lines.push(
        `RUNAWAY in ${where}: task ${p.task}`,
        `  ran ${p.ops} Effect operations without a scheduling point in ${p.func ?? "its body"}`,
        "  (a loop on state no kernel primitive models never lets another task run)"
      )
      break
  }
  return lines
}

/**
 * The interleaving table: one column per lane, one row per operation, the
 * stuck operations last, then the verdict.
 *
 * @category rendering
 * @since 0.1.0
 */
export const table = (t: Timeline.Timeline): Array<string> => {
  const col = new Map(t.tasks.map((task, i) => [task, i]))
  const rows: Array<{ readonly column: number; readonly text: string }> = []
  const lastFunc = new Map<string, string | undefined>()
  for (const o of t.ops) {
    const c = col.get(o.task)
    if (c === undefined || o.name === "start") continue
    if (o.func !== lastFunc.get(o.task)) {
      lastFunc.set(o.task, o.func)
      if (o.func !== undefined) rows.push({ column: c, text: `${o.func}():` })
    }
    rows.push({ column: c, text: `  ${o.label};` })
  }
  for (const b of t.stuck.values()) {
    const c = col.get(b.task)
    if (c === undefined) continue
    if (b.func !== undefined && b.func !== lastFunc.get(b.task)) rows.push({ column: c, text: `${b.func}():` })
    rows.push({ column: c, text: `  ${b.op}; <${b.spinning ? "spins" : "blocks"}>` })
  }
  const widths = t.tasks.map((task, i) => Math.max(task.length, ...rows.filter((r) => r.column === i).map((r) => r.text.length)) + 3)
  const line = (cells: (i: number) => string) =>
    `       ${t.tasks
      .map((_, i) => cells(i).padEnd(widths[i]!))
      .join("")
      .trimEnd()}`
  const out = [line((i) => t.tasks[i]!), line((i) => "-".repeat(t.tasks[i]!.length))]
  for (const r of rows) out.push(line((i) => (i === r.column ? r.text : "")))
  out.push("", ` ${t.verdict}`)
  return out
}

/**
 * Renders a counterexample as a lockdep-style text report.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { Render } from "@drvmodel/core"
 * declare const cx: Explorer.Counterexample
 * console.log(Render.Text.render(cx))
 * // DEADLOCK in scenario "abba", variant buggy: 2 tasks can never run again
 * // ...
 * //        thread-1           thread-2
 * //        --------           --------
 * //          mutex_lock(A);
 * //                             mutex_lock(B);
 * // ...
 * //  *** DEADLOCK ***
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const render = (cx: Counterexample, options: TextOptions = {}): string => {
  const t = Timeline.of(cx, options.trace)
  const size = `${plural(cx.steps, "step")}, ${plural(cx.preemptions, "preemption")}`
  const shrunk =
    cx.original !== undefined
      ? // Fewest preemptions first, then fewest steps: a shallower schedule can be longer.
        `; shrunk (fewest preemptions first, then steps) from ${plural(cx.original.steps, "step")}, ${plural(cx.original.preemptions, "preemption")}`
      : ""
  const lines = [...header(cx), "", ` Interleaving (${size}${shrunk}; depth ${cx.preemptions}):`, "", ...table(t), ""]
  const seed = cx.seed !== undefined && cx.strategy !== "dfs" ? ` (seed ${cx.seed})` : ""
  lines.push(`found by ${cx.strategy}${seed}, run ${cx.run}: ${cx.finding.summary}`)
  if (options.replayCommand !== undefined) lines.push(`replay: ${options.replayCommand}`)
  return `${lines.join("\n")}\n`
}
