/**
 * The classic patterns as one model: each scenario has a `buggy` and a
 * `fixed` variant, so the findings matrix shows the fix.
 */
import { type Model, type Scenario, UnknownName } from "@drvmodel/core"
import { abba, abbaFixed } from "./abba.ts"
import { lostUpdate, lostUpdateFixed } from "./lost-update.ts"

const table: ReadonlyArray<{
  readonly buggy: Scenario
  readonly fixed: Scenario
  readonly invariants: Model["scenarios"][number]["invariants"]
}> = [
  { buggy: abba, fixed: abbaFixed, invariants: [] },
  {
    buggy: lostUpdate,
    fixed: lostUpdateFixed,
    invariants: [{ name: "no-lost-update", description: "once both threads finish, the counter is 2" }]
  }
]

/**
 * @example
 * ```ts
 * import { classic } from "@drvmodel/examples"
 * const s = classic.scenario("abba", "fixed")
 * ```
 */
export const classic: Model = {
  name: "classic",
  description: "classic concurrency patterns with known answers, each buggy and fixed",
  variants: [
    { name: "buggy", description: "the pattern with its bug" },
    { name: "fixed", description: "the pattern fixed" }
  ],
  scenarios: table.map((t) => ({
    name: t.buggy.name,
    description: t.buggy.description,
    defaults: { strategy: "dfs", preemptions: 2, schedules: 2000 },
    invariants: t.invariants
  })),
  scenario: (name, variant) => {
    const entry = table.find((t) => t.buggy.name === name)
    if (entry === undefined)
      throw new UnknownName(
        "scenario",
        name,
        table.map((t) => t.buggy.name)
      )
    if (variant !== "buggy" && variant !== "fixed") throw new UnknownName("variant", variant, ["buggy", "fixed"])
    const s = variant === "buggy" ? entry.buggy : entry.fixed
    return { ...s, name }
  }
}
