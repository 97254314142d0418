#!/usr/bin/env node
/**
 * Entry point of the `drvmodel` command.
 *
 * The command runs uninterruptibly: Ctrl-C is handled by `Interrupt` (stop
 * at the next batch, still print and write what was found), and the exit
 * code is the command's own (0 clean, 1 findings, 2 bad input or usage).
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import * as Cli from "./Cli.ts"

Cli.main.pipe(
  Effect.uninterruptible,
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit)) return onExit(exit.value as number)
      if (Cause.hasInterruptsOnly(exit.cause)) return onExit(Cli.finalExitCode() ?? 130)
      return onExit(3)
    }
  })
)
