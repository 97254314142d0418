#!/usr/bin/env node
/**
 * Entry point of the `drvmodel` command.
 *
 * Ctrl-C interrupts the main fiber (`NodeRuntime.runMain`); the command
 * turns that into a stop between two batches of runs (`Interrupt.graceful`)
 * and still prints and writes what was found. The exit code is the one
 * `Cli.main` computes (0 clean, 1 findings, 2 bad input or usage, 3
 * internal, 130 interrupted without a verdict): it travels as the fiber's
 * failure value, `Interrupt.ExitCode`, because an interrupted fiber keeps a
 * failure but not a success value.
 *
 * @since 0.1.0
 */
// Subpaths: the package index loads every platform module (HTTP, cluster, sockets...), ~0.4 s of start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Effect, Exit } from "effect"
import * as Cli from "./Cli.ts"
import { ExitCode, exitCode } from "./Interrupt.ts"

exitCode(Cli.main).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit)) return onExit(0)
      const code = exit.cause.reasons.find((r) => Cause.isFailReason(r) && r.error instanceof ExitCode)
      if (code !== undefined && Cause.isFailReason(code)) return onExit((code.error as ExitCode).code)
      if (Cause.hasInterruptsOnly(exit.cause)) return onExit(130)
      return onExit(3)
    }
  })
)
