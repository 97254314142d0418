/**
 * Lock-order analysis as a matrix cell analysis: the lockdep-style class graph
 * is kept across every execution of the cell's exploration, each cycle is then
 * tried with targeted schedules, and the cell gets a `lockOrder` verdict
 * (`clean`, `potential` or `confirmed`) and, for any cycle, the kind
 * `lock-order`. A confirming counterexample is written beside the others.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { LockOrder } from "@drvmodel/core"
import { Effect } from "effect"
import * as Files from "./Files.ts"
import type { CellAnalysis } from "./Matrix.ts"

/**
 * A cycle as written into matrix.json: classes, status, the edges with the
 * task and function that created each, and the confirming counterexample's file.
 *
 * @category models
 * @since 0.1.0
 */
export interface CellCycle {
  readonly kind: string
  readonly classes: ReadonlyArray<string>
  readonly status: "confirmed" | "potential"
  readonly confirmed: boolean
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string; readonly task: string; readonly func?: string }>
  readonly tried: LockOrder.Tried
  readonly counterexample?: string
  readonly report: string
}

/**
 * The per-cell lock-order verdict.
 *
 * @category models
 * @since 0.1.0
 */
export interface CellLockOrder {
  readonly verdict: "clean" | "potential" | "confirmed"
  readonly confirmed: boolean
  readonly cycles: ReadonlyArray<CellCycle>
}

/**
 * The analysis. `confirmRuns` bounds the targeted runs per cycle.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockOrderCell, Matrix } from "@drvmodel/cli"
 * const run = Matrix.run("classic", { analyses: [LockOrderCell.analysis()] })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const analysis = (options: { readonly confirmRuns?: number } = {}): CellAnalysis => {
  // Cells run one after another; `observers()` is called once per cell, before its exploration.
  let current: LockOrder.LockObserver | undefined
  return {
    name: "lock-order",
    observers: () => {
      current = LockOrder.observer()
      return [current]
    },
    // A split cell: each piece's graph as data, appended in run order (`LockGraph.append`: exactly the graph of one observer).
    state: {
      save: () => current?.graph.toData(),
      load: (parts) => {
        for (const p of parts) if (p !== undefined) current?.graph.append(p as LockOrder.LockGraphData)
      }
    },
    analyze: (ctx) => {
      if (current === undefined) return undefined
      const cycles = Effect.runSync(
        LockOrder.resultCycles(ctx.scenario, current.graph, {
          variant: ctx.variant,
          confirm: { runs: options.confirmRuns ?? 200, maxSteps: ctx.options.maxSteps, livelockBound: ctx.options.livelockBound }
        })
      )
      const files: Array<{ readonly path: string; readonly text: string }> = []
      const listed = cycles.map((c, i): CellCycle => {
        let file: string | undefined
        if (c.counterexample !== undefined && ctx.out !== undefined) {
          file = path.join(ctx.out, Files.nameFor(c.counterexample, i === 0 ? "--lock-order.json" : `--lock-order-${i + 1}.json`))
          files.push({ path: file, text: Files.encodeCounterexample(ctx.model.name, c.counterexample) })
        }
        return {
          kind: c.kind,
          classes: c.classes,
          status: c.status,
          confirmed: c.confirmed,
          edges: c.edges.map((e) => ({ from: e.from, to: e.to, task: e.task, ...(e.func !== undefined ? { func: e.func } : {}) })),
          tried: c.tried,
          ...(file !== undefined ? { counterexample: file } : {}),
          report: LockOrder.renderCycle(c)
        }
      })
      const confirmed = listed.some((c) => c.confirmed)
      const lockOrder: CellLockOrder = {
        verdict: listed.length === 0 ? "clean" : confirmed ? "confirmed" : "potential",
        confirmed,
        cycles: listed
      }
      return { fields: { lockOrder }, kinds: listed.length > 0 ? ["lock-order"] : [], files }
    }
  }
}
