/**
 * Ctrl-C is fiber interruption: interrupting the fiber that runs a command
 * becomes a stop request seen between two batches of runs, the command still
 * reports and writes what it found, and its exit code survives the
 * interruption (`Interrupt.exitCode`). In process, then through the binary.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Explorer } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Latch } from "effect"
import { Exploration, Interrupt } from "../src/index.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

describe("Ctrl-C as fiber interruption", () => {
  it.live("an interrupted exploration stops between batches and still returns its partial report", () =>
    Effect.gen(function* () {
      const started = Latch.makeUnsafe()
      let seen: Explorer.Report | undefined
      const fiber = yield* Effect.forkChild(
        Interrupt.graceful(
          Effect.gen(function* () {
            const stop = yield* Interrupt.Stop
            const report = yield* Exploration.explore(
              classic.scenario("abba", "buggy"),
              Explorer.options({ strategy: "random", schedules: 100_000_000 }),
              { shouldStop: stop.requested, onProgress: () => Effect.runSync(started.open) }
            )
            seen = report
            return report.runs
          })
        )
      )
      yield* started.await
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      // The calling fiber ends interrupted, but the work ran to its report first.
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.strictEqual(seen?.stopped, "interrupted")
      assert.isAbove(seen!.runs, 0)
      assert.isBelow(seen!.runs, 100_000_000)
      assert.strictEqual(seen!.counterexamples.length, 1)
    })
  )

  it.live("Interrupt.exitCode keeps the command's exit code through the interruption", () =>
    Effect.gen(function* () {
      const started = Latch.makeUnsafe()
      const fiber = yield* Effect.forkChild(
        Interrupt.exitCode(
          Effect.gen(function* () {
            const stop = yield* Interrupt.Stop
            yield* started.open
            while (!stop.requested()) yield* Effect.sleep("5 millis")
            return 1
          })
        )
      )
      yield* started.await
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      if (!Exit.isFailure(exit)) return
      const code = exit.cause.reasons.find(Cause.isFailReason)
      assert.deepStrictEqual(code?.error, new Interrupt.ExitCode({ code: 1 }))
    })
  )

  it.live("the binary: SIGINT during explore writes the finding found so far and exits 130", () =>
    Effect.promise(async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-ctrl-c-"))
      const args = ["packages/cli/src/bin.ts", "explore", "abba", "--model", "classic", "--variant", "buggy"]
      const p = spawn(process.execPath, [...args, "--strategy", "random", "--schedules", "100000000", "--out", dir], {
        cwd: root,
        env: { ...process.env, NO_COLOR: "1", CI: "true" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      p.stderr.on("data", (d: Buffer) => {
        err += d.toString()
      })
      p.stdout.on("data", (d: Buffer) => {
        const first = out === ""
        out += d.toString()
        // Once the exploration has started, interrupt it.
        if (first) setTimeout(() => p.kill("SIGINT"), 500)
      })
      const code = await new Promise<number | null>((resolve) => p.on("close", resolve))
      // Interrupted is 130 (the SIGINT convention) even with findings: they are written all the same.
      assert.strictEqual(code, 130, out + err)
      assert.include(out, "(interrupted: partial results)")
      assert.include(err, "interrupted: stopping after the current batch")
      assert.isTrue(fs.existsSync(path.join(dir, "abba--buggy--deadlock.json")))
    })
  )
})
