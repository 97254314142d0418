/**
 * Ctrl-C as fiber interruption. `NodeRuntime.runMain` interrupts the main
 * fiber on SIGINT/SIGTERM; `graceful` turns that interruption into a stop
 * request that the running command sees between two batches of runs (the
 * `Stop` service, one per invocation), so what was found so far is still
 * printed and written before the command ends. The command's exit code
 * survives the interruption as `ExitCode` (see `bin.ts`).
 *
 * @since 0.1.0
 */
import { type Cause, Console, Context, Effect, Exit, Fiber, Schema } from "effect"

/**
 * The stop request of one command invocation: `requested()` is polled
 * between batches of runs (explorations, matrix workers).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Interrupt } from "@drvmodel/cli"
 * const poll = Effect.gen(function*() {
 *   const stop = yield* Interrupt.Stop
 *   return stop.requested()
 * })
 * ```
 * @category services
 * @since 0.2.0
 */
export class Stop extends Context.Service<Stop, { readonly requested: () => boolean }>()("@drvmodel/cli/Interrupt/Stop") {}

/**
 * The exit code of an interrupted command, carried in the main fiber's
 * failure cause (an interrupted fiber's success value is lost; a failure is
 * kept beside the interruption).
 *
 * @example
 * ```ts
 * import { Interrupt } from "@drvmodel/cli"
 * const e = new Interrupt.ExitCode({ code: 130 })
 * ```
 * @category errors
 * @since 0.2.0
 */
export class ExitCode extends Schema.TaggedError<ExitCode>()("ExitCode", { code: Schema.Number }) {}

const stopOnInterrupt = <A, E, R, B, E2>(
  work: Effect.Effect<A, E, R | Stop>,
  finish: (exit: Exit.Exit<A, E>) => Effect.Effect<B, E2>
): Effect.Effect<B, E2, Exclude<R, Stop>> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      // Local to this invocation: no module state.
      let requested = false
      const fiber = yield* Effect.forkChild(Effect.provideService(work, Stop, { requested: () => requested }))
      yield* restore(Fiber.await(fiber)).pipe(
        Effect.onInterrupt(() =>
          Effect.andThen(
            Effect.sync(() => {
              requested = true
              // A second Ctrl-C ends the process at once (runMain's own listener only interrupts again).
              process.once("SIGINT", () => process.exit(130))
            }),
            Console.error("\ninterrupted: stopping after the current batch (Ctrl-C again to quit now)")
          )
        ),
        Effect.exit
      )
      // Inside the uninterruptible region: the work finishes its batch, reports, and `finish` runs.
      return yield* finish(yield* Fiber.await(fiber))
    })
  ) as Effect.Effect<B, E2, Exclude<R, Stop>>

/**
 * Runs `work` so that interrupting the calling fiber asks it to stop (through
 * `Stop`) instead of killing it: the work finishes its current batch, reports
 * and returns. Without an interruption it is just `work`. (Interrupted, the
 * calling fiber still ends interrupted, so its success value is lost: see
 * `exitCode`.)
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Interrupt } from "@drvmodel/cli"
 * const program = Interrupt.graceful(
 *   Effect.gen(function*() {
 *     const stop = yield* Interrupt.Stop
 *     return stop.requested() ? 130 : 0
 *   })
 * )
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const graceful = <A, E, R>(work: Effect.Effect<A, E, R | Stop>): Effect.Effect<A, E, Exclude<R, Stop>> =>
  stopOnInterrupt(work, (exit) => exit)

/**
 * `graceful` for a main program that computes an exit code: the code is the
 * failure `ExitCode`, which an interrupted fiber keeps (`bin.ts` reads it in
 * its teardown), raised before the uninterruptible region ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Interrupt } from "@drvmodel/cli"
 * const program = Interrupt.exitCode(Effect.succeed(0)) // Effect<never, ExitCode>
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const exitCode = <R>(main: Effect.Effect<number, never, R | Stop>): Effect.Effect<never, ExitCode, Exclude<R, Stop>> =>
  stopOnInterrupt(main, (exit) =>
    Exit.isSuccess(exit) ? Effect.fail(new ExitCode({ code: exit.value })) : Effect.failCause(exit.cause as Cause.Cause<never>)
  )
