/**
 * Measures schedule shrinking: for every scenario and variant of a model,
 * explores with the scenario's defaults (or a given strategy), shrinks each
 * finding and prints steps and preemptions before and after, with the
 * replays spent.
 *
 * Run: node scripts/shrink-stats.ts [mlx5|classic] [random|pct|dfs]
 */

import { Models } from "@drvmodel/cli"
import { Explorer, Shrink } from "@drvmodel/core"
import { Effect } from "effect"

const modelName = process.argv[2] ?? "mlx5"
const strategy = process.argv[3]
const model = Models.get(modelName)
const rows: Array<Array<string>> = [
  ["scenario", "variant", "kind", "steps before", "after", "preemptions before", "after", "replays", "ms"]
]
for (const info of model.scenarios) {
  for (const v of model.variants) {
    const scenario = model.scenario(info.name, v.name)
    const o = Explorer.options(strategy !== undefined ? { strategy } : {}, Explorer.options(info.defaults))
    const report = Effect.runSync(Explorer.explore(scenario, o, { variant: v.name }))
    for (const cx of report.counterexamples) {
      const t0 = performance.now()
      const { counterexample: after, result } = Effect.runSync(
        Shrink.counterexample(scenario, cx, {
          maxSteps: o.maxSteps,
          livelockBound: o.livelockBound
        })
      )
      const ms = Math.round(performance.now() - t0)
      rows.push([
        info.name,
        v.name,
        cx.kind,
        String(cx.steps),
        String(after.steps),
        String(cx.preemptions),
        String(after.preemptions),
        String(result.replays),
        String(ms)
      ])
    }
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "))
