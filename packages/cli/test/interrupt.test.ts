/**
 * Interruption with a real child process: SIGINT and SIGTERM stop an
 * exploration or a matrix between batches, keep what was found (printed and
 * written), and exit 130; a second signal ends the process at once.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { start, tmp } from "./support.ts"

const until = (what: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    const poll = () => (what() ? resolve() : setTimeout(poll, 20))
    poll()
  })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Random search on abba/buggy finds the deadlock in its first few runs; the budget is hours.
const longExplore = (out: string) =>
  start("explore", "abba", "--model", "classic", "--variant", "buggy", "--strategy", "random", "--schedules", "100000000", "--out", out)

describe("interruption", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.effect(`${signal} during exploration: stops, prints and writes what was found, exits 130`, () =>
      Effect.promise(async () => {
        const dir = tmp()
        const p = longExplore(dir)
        await until(() => p.stdout().includes("explore abba"))
        await sleep(1000)
        p.child.kill(signal)
        const r = await p.done
        assert.strictEqual(r.code, 130, `${r.out}\n${r.err}`)
        assert.include(r.err, "interrupted: stopping after the current batch")
        assert.match(r.out, /1 finding in \d+ schedules .*\(interrupted: partial results\)/)
        assert.include(r.out, "*** DEADLOCK ***")
        assert.isTrue(fs.existsSync(path.join(dir, "abba--buggy--deadlock.json")), "the finding is written")
      })
    )
  }

  it.effect("SIGTERM during the matrix: the finished cells, matrix.json and README.md are kept, exit 130", () =>
    Effect.promise(async () => {
      // The mlx5 matrix on two variants: seconds per cell, so the signal lands while cells are
      // still to come (the whole classic matrix can end before a signal arrives on a quiet machine).
      const dir = tmp()
      const p = start("matrix", "--model", "mlx5", "--variant", "baseline", "--variant", "merged", "--out", dir)
      const cellLine = /^ {2}([a-z-]+) \/ ([a-z0-9@]+): (\S+)/m
      await until(() => cellLine.test(p.stdout()))
      p.child.kill("SIGTERM")
      const [, scenario, variant, verdict] = cellLine.exec(p.stdout())!
      const r = await p.done
      assert.strictEqual(r.code, 130, `${r.out}\n${r.err}`)
      const m = JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")) as {
        interrupted: boolean
        cells: Array<{ scenario: string; variant: string; verdict: string; counterexample?: string }>
      }
      assert.isTrue(m.interrupted)
      assert.isBelow(m.cells.length, 16, "stopped before the end")
      const first = m.cells.find((c) => c.scenario === scenario && c.variant === variant)
      assert.isDefined(first, `${scenario}/${variant} finished before the signal and is kept`)
      assert.strictEqual(first!.verdict === "clean", verdict === "clean")
      if (first!.counterexample !== undefined) assert.isTrue(fs.existsSync(first!.counterexample))
      assert.include(fs.readFileSync(path.join(dir, "README.md"), "utf8"), "interrupted")
    })
  )

  it.effect("a second signal ends the process at once", () =>
    Effect.promise(async () => {
      const p = longExplore(tmp())
      await until(() => p.stdout().includes("explore abba"))
      p.child.kill("SIGINT")
      await until(() => p.stderr().includes("interrupted"))
      p.child.kill("SIGINT")
      const r = await p.done
      // Killed by the signal's default action, unless the first one's orderly stop won the race.
      assert.isTrue(r.signal === "SIGINT" || r.code === 130, `${r.code} ${r.signal}`)
    })
  )
})
