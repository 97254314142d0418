/**
 * Text rendering of lock-order results in lockdep's style: the dependency
 * chain with the task, modelled function and step that created each edge,
 * then the "possible unsafe locking scenario" table generalised from
 * lockdep's CPU0/CPU1 to one column per dependency of the cycle, then the
 * verdict (confirmed with the deadlocking run, or potential with what was
 * tried). Works on the Schema data, so it also renders saved JSON.
 *
 * @since 0.1.0
 */
import type { LockOrderCycle, LockOrderEdge, LockOrderIrq, LockOrderResult, LockOrderUsage } from "./Result.ts"

const verb = (mode: "E" | "S" | LockOrderEdge["mode"]): string => (mode === "E" || mode === "write" ? "lock" : "rlock")

const where = (func: string | undefined, step: number): string => `step ${step}${func !== undefined ? ` in ${func}()` : ""}`

const describeEdge = (e: LockOrderEdge, i: number): ReadonlyArray<string> => {
  const action =
    e.via === "acquire"
      ? `acquired ${e.to} with ${e.op}`
      : e.via === "touch"
        ? `waited on ${e.to} with ${e.op}`
        : `signalled ${e.from} with ${e.op}`
  const holding = e.via === "signal" ? e.to : e.from
  const others = e.tasks.filter((t) => t !== e.task)
  return [
    ` -> #${i} ${e.from} -> ${e.to}  [${e.type}]`,
    `       ${e.task} ${action} at ${where(e.func, e.step)} (run ${e.run}),`,
    `       holding ${holding} since ${e.held.op} at ${where(e.held.func, e.held.step)}`,
    ...(others.length > 0 ? [`       also created by: ${others.join(", ")}`] : [])
  ]
}

/**
 * The n-lane "possible unsafe locking scenario" table of a cycle: lane i
 * takes `classes[i]`, then every lane tries to take the next class.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * declare const cycle: LockOrder.LockOrderCycle
 * console.log(LockOrder.scenarioTable(cycle))
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const scenarioTable = (cycle: LockOrderCycle): string => {
  const n = cycle.edges.length
  const seen = new Map<string, number>()
  const headers = cycle.edges.map((e) => {
    const k = (seen.get(e.task) ?? 0) + 1
    seen.set(e.task, k)
    return k === 1 ? e.task : `${e.task} (${k})`
  })
  const rows: Array<[number, string]> = [
    ...cycle.edges.map((e, i): [number, string] => [i, `${verb(e.type[0] as "E" | "S")}(${e.from});`]),
    ...cycle.edges.map((e, i): [number, string] => [i, `${verb(e.mode)}(${e.to});`])
  ]
  const width = Math.max(...headers.map((h) => h.length), ...rows.map(([, c]) => c.length)) + 3
  const line = (cells: ReadonlyArray<string>) =>
    `       ${cells
      .map((c) => c.padEnd(width))
      .join("")
      .trimEnd()}`
  const blank = (): Array<string> => Array.from({ length: n }, () => "")
  const out = [line(headers), line(headers.map((h) => "-".repeat(h.length)))]
  for (const [lane, cell] of rows) {
    const cells = blank()
    cells[lane] = cell
    out.push(line(cells))
  }
  return [" Possible unsafe locking scenario:", "", ...out, "", "  *** DEADLOCK ***"].join("\n")
}

/**
 * One cycle as a lockdep-style report.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const r = Effect.runSync(LockOrder.analyzeOnce(classic.scenario("abba", "buggy")))
 * console.log(LockOrder.renderCycle(r.cycles[0]!))
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const renderCycle = (cycle: LockOrderCycle): string => {
  const title =
    cycle.kind === "recursive"
      ? `possible recursive locking detected: ${cycle.classes[0]} acquired while held`
      : `possible circular locking dependency: ${[...cycle.classes, cycle.classes[0]].join(" -> ")}`
  const t = cycle.tried
  const verdict = cycle.counterexample
    ? `CONFIRMED: targeted run ${cycle.counterexample.run} (of ${t.runs} tried, seed ${t.seed}) ends in ${cycle.counterexample.kind} after ${cycle.counterexample.steps} steps, ${cycle.counterexample.preemptions} preemptions:\n  ${cycle.counterexample.finding.summary}`
    : t.runs === 0
      ? "POTENTIAL: confirmation not attempted"
      : `POTENTIAL: not reproduced by ${t.runs} ${t.strategy} runs (seed ${t.seed}, at most ${t.maxSteps} steps each); they ended: ${Object.entries(
          t.outcomes
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`
  return [
    "======================================================",
    `WARNING: ${title}  [${cycle.status}]`,
    "------------------------------------------------------",
    "the dependency chain:",
    ...cycle.edges.flatMap(describeEdge),
    "",
    scenarioTable(cycle),
    ...(cycle.kind === "recursive" ? ["", " May be due to missing lock nesting notation"] : []),
    "",
    verdict
  ].join("\n")
}

const at = (u: LockOrderUsage): string => `${u.task} ${u.op} at ${where(u.func, u.step)} (run ${u.run})`

/**
 * One irq-rule violation as lockdep reports it: "inconsistent lock state"
 * with the two usages and the one-CPU scenario, or "irq-safe -> irq-unsafe
 * lock order" with the chain and the two-CPU scenario.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * declare const v: LockOrder.LockOrderIrq
 * console.log(LockOrder.renderIrq(v))
 * ```
 * @category rendering
 * @since 0.3.0
 */
export const renderIrq = (v: LockOrderIrq): string => {
  const irq = v.irq === "HARDIRQ" ? "Interrupt" : "Softirq"
  if (v.kind === "inconsistent") {
    const c = v.classes[0]!
    return [
      "================================",
      "WARNING: inconsistent lock state",
      "--------------------------------",
      v.title,
      `  {${v.first.usage}} state was registered by ${at(v.first)}`,
      `  {${v.second.usage}} by ${at(v.second)}`,
      "",
      " Possible unsafe locking scenario:",
      "",
      "       CPU0",
      "       ----",
      `  lock(${c});`,
      `  <${irq}>`,
      `    lock(${c});`,
      "",
      " *** DEADLOCK ***"
    ].join("\n")
  }
  const safe = v.classes[0]!
  const unsafe = v.classes[v.classes.length - 1]!
  const disable = v.irq === "HARDIRQ" ? "local_irq_disable();" : "local_bh_disable();"
  return [
    "=====================================================",
    `WARNING: ${v.title}`,
    "-----------------------------------------------------",
    `the dependency chain ${v.classes.join(" -> ")}`,
    `connects a ${v.irq}-irq-safe lock: ${safe} (${v.first.usage} by ${at(v.first)})`,
    `to a ${v.irq}-irq-unsafe lock: ${unsafe} (${v.second.usage} by ${at(v.second)})`,
    "",
    " Possible interrupt unsafe locking scenario:",
    "",
    "       CPU0                    CPU1",
    "       ----                    ----",
    `  lock(${unsafe});`,
    `                               ${disable}`,
    `                               lock(${safe});`,
    `                               lock(${unsafe});`,
    `  <${irq}>`,
    `    lock(${safe});`,
    "",
    " *** DEADLOCK ***"
  ].join("\n")
}

/**
 * A whole result: a summary line, then each cycle.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const text = LockOrder.analyzeOnce(classic.scenario("abba", "fixed")).pipe(Effect.map(LockOrder.render))
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const render = (result: LockOrderResult): string => {
  const confirmed = result.cycles.filter((c) => c.confirmed).length
  const head = `lock-order analysis of ${result.scenario}${result.variant !== undefined ? ` (${result.variant})` : ""}: ${result.runs} run${result.runs === 1 ? "" : "s"} (${result.mode}), ${result.steps} steps, ${result.classes} classes, ${result.dependencies} dependencies; ${result.cycles.length} cycle${result.cycles.length === 1 ? "" : "s"}, ${confirmed} confirmed`
  const irq = result.irq ?? []
  const irqHead = irq.length > 0 ? `; ${irq.length} irq-rule violation${irq.length === 1 ? "" : "s"}` : ""
  return [head + irqHead, ...result.cycles.map(renderCycle), ...irq.map(renderIrq)].join("\n\n")
}
