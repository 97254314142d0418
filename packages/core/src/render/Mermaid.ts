/**
 * A Mermaid sequence diagram of a counterexample: one participant per task;
 * entering and leaving modelled kernel functions as activations with the
 * component named; each operation as a message on its lane; the locks a lane
 * holds as notes whenever they change; spawns as messages between lanes; and
 * at the end the wait-for edges (the cycle) as dashed arrows from the waiter
 * to the holder. The syntax is kept to what GitHub's renderer accepts
 * (participant/as, ->>, -->>, -x, Note over, activate/deactivate, entity
 * codes for special characters).
 *
 * @since 0.1.0
 */
import type { Counterexample } from "../Explorer.ts"
import type { Trace } from "../Trace.ts"
import * as Timeline from "./Timeline.ts"

/**
 * Escapes text for a Mermaid message or note: `;` and `#` are syntax,
 * `<`, `>` and `&` would be read as HTML on GitHub, a newline ends the
 * statement and backticks could close the Markdown fence around it.
 *
 * @example
 * ```ts
 * import { Render } from "@drvmodel/core"
 * Render.Mermaid.escapeText("esw->work_queue") // => "esw-#gt;work_queue"
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const escapeText = (s: string): string =>
  s.replace(/[#;<>&:"%{}`\n\r]/g, (c) => {
    switch (c) {
      case "#":
        return "#35;"
      case ";":
        return "#59;"
      case "<":
        return "#lt;"
      case ">":
        return "#gt;"
      case "&":
        return "#amp;"
      case ":":
        return "#58;"
      case '"':
        return "#quot;"
      case "%":
        return "#37;"
      case "{":
        return "#123;"
      case "}":
        return "#125;"
      case "`":
        // A run of backticks would close the Markdown fence around the diagram.
        return "#96;"
      default:
        return " "
    }
  })

/**
 * Renders a counterexample as a Mermaid `sequenceDiagram`.
 *
 * @example
 * ```ts
 * import { Render, type Counterexample } from "@drvmodel/core"
 * declare const cx: Counterexample
 * const md = "```mermaid\n" + Render.Mermaid.render(cx) + "```\n"
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const render = (cx: Counterexample, options: { readonly trace?: Trace } = {}): string => {
  const t = Timeline.of(cx, options.trace)
  const id = new Map(t.tasks.map((task, i) => [task, `T${i}`]))
  const lines = ["sequenceDiagram"]
  for (const task of t.tasks) lines.push(`    participant ${id.get(task)} as ${escapeText(task)}`)
  const holds = new Map<string, string>()
  const depth = new Map<string, number>()
  for (const e of t.events) {
    const p = id.get(e.task)
    switch (e.kind) {
      case "spawn": {
        const child = id.get(e.name)
        if (p !== undefined && child !== undefined) lines.push(`    ${p}->>${child}: spawn`)
        break
      }
      case "call":
        if (p === undefined) break
        lines.push(`    ${p}->>+${p}: ${escapeText(`${e.component !== undefined ? `${e.component}.` : ""}${e.name}()`)}`)
        depth.set(e.task, (depth.get(e.task) ?? 0) + 1)
        break
      case "return":
        if (p === undefined || (depth.get(e.task) ?? 0) === 0) break
        lines.push(`    deactivate ${p}`)
        depth.set(e.task, depth.get(e.task)! - 1)
        break
      case "op": {
        if (p === undefined) break
        if (e.name === "start") break
        lines.push(`    ${p}->>${p}: ${escapeText(Timeline.labelOf(e))}${e.preempted === true ? escapeText(" (preempted)") : ""}`)
        const now = (e.holds ?? []).join(", ")
        if (now !== (holds.get(e.task) ?? "")) {
          lines.push(`    Note over ${p}: ${escapeText(now === "" ? "holds nothing" : `holds ${now}`)}`)
          holds.set(e.task, now)
        }
        break
      }
      case "warn":
        if (p !== undefined) lines.push(`    Note over ${p}: ${escapeText(`WARN ${e.name}`)}`)
        break
      default:
        break
    }
  }
  // The stuck operations and the wait-for edges.
  for (const b of t.stuck.values()) {
    const p = id.get(b.task)
    if (p === undefined) continue
    lines.push(`    ${p}-x${p}: ${escapeText(`${b.op} ${b.spinning ? "spins" : "blocks"}`)}`)
  }
  for (const e of Timeline.waitEdges(t)) {
    const from = id.get(e.task)
    const to = id.get(e.holder)
    if (from === undefined || to === undefined) continue
    const words = e.queued === true ? `waits for ${e.resource} behind ${e.holder} (queued)` : `waits for ${e.resource} held by ${e.holder}`
    lines.push(`    ${from}-->>${to}: ${escapeText(`${e.inCycle ? "cycle: " : ""}${words}`)}`)
  }
  const ends = t.tasks.length > 1 ? `${id.get(t.tasks[0]!)},${id.get(t.tasks[t.tasks.length - 1]!)}` : id.get(t.tasks[0] ?? "")
  const why =
    t.problem._tag === "InvariantViolation" || t.problem._tag === "Defect"
      ? ` - ${t.problem.message}`
      : t.problem._tag === "Runaway"
        ? ` - ${t.problem.task} ran ${t.problem.ops} Effect operations without a scheduling point`
        : ""
  if (ends !== undefined) lines.push(`    Note over ${ends}: ${escapeText(`${t.verdict.replace(/\*/g, "").trim()}${why}`)}`)
  return `${lines.join("\n")}\n`
}
