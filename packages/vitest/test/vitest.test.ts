/**
 * The vitest helper: a clean scenario passes `it.explore`; a report with a
 * finding fails `expectClean` with the shrunk, rendered counterexample, a
 * saved JSON file and the replay line; a bounded search cut short fails
 * `exhaustive`; a saved counterexample replays through `it.explore`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Explorer } from "@drvmodel/core"
import { abba, abbaFixed } from "@drvmodel/examples"
import { expectClean, it } from "@drvmodel/vitest"
import { assert, describe } from "@effect/vitest"
import { Effect, Schema } from "effect"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-vitest-"))

describe("it.explore", () => {
  it.explore("ABBA with one lock order is deadlock-free within 2 preemptions", abbaFixed, {
    strategy: "dfs",
    preemptions: 2,
    exhaustive: true
  })

  // The buggy schedule, saved, replayed (leniently) on the fixed order: no deadlock any more.
  const buggy = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "dfs", preemptions: 2, stopOnFirst: true })))
  const saved = path.join(dir, "abba.json")
  fs.writeFileSync(saved, JSON.stringify(Schema.encodeSync(Explorer.Counterexample)(buggy.counterexamples[0]!)))
  it.explore("the ABBA deadlock's schedule does not deadlock the fixed order", abbaFixed, { replay: saved })
})

describe("expectClean", () => {
  it("fails with the shrunk counterexample, rendered, saved, and its replay line", () => {
    const report = Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "random", seed: 4, schedules: 200 })))
    assert.isAbove(report.counterexamples.length, 0)
    let message = ""
    try {
      expectClean(report, { scenario: abba, counterexampleDir: dir, name: "abba" })
    } catch (e) {
      message = (e as Error).message
    }
    assert.match(message, /^drvmodel: abba is not clean: 1 finding\(s\) in 200 run\(s\) \(random\)/)
    assert.include(message, "deadlock: ")
    assert.match(message, /shrunk to 1 preemption\(s\), \d+ steps, from \d+ preemption\(s\), \d+ steps \(fewest preemptions first/)
    assert.include(message, "Interleaving")
    const file = path.join(dir, "abba--deadlock.json")
    assert.include(message, `replay: it.explore("abba", scenario, { replay: ${JSON.stringify(file)} })`)
    const back = Schema.decodeUnknownSync(Explorer.Counterexample)(JSON.parse(fs.readFileSync(file, "utf8")))
    assert.strictEqual(back.preemptions, 1)
  })

  it("with exhaustive, a bounded search cut short by its budget fails", () => {
    const report = Effect.runSync(Explorer.explore(abbaFixed, Explorer.options({ strategy: "dfs", preemptions: 2, schedules: 3 })))
    assert.strictEqual(report.counterexamples.length, 0)
    assert.throws(() => expectClean(report, { exhaustive: true }), /clean but not exhaustive \(dfs, 3 runs, stopped: budget/)
    expectClean(report)
  })
})
