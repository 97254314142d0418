/**
 * Bad input: a file that does not validate, an unknown name, a schedule that
 * no longer fits the model. Reported as one line naming what is wrong, with
 * exit code 2, never a stack trace.
 *
 * @since 0.1.0
 */
import { Explorer, InvalidVariant, UnknownName } from "@drvmodel/core"
import { Data, Effect } from "effect"

/**
 * @example
 * ```ts
 * import { InputError } from "@drvmodel/cli"
 * const e = new InputError({ message: "unknown scenario \"x\"" })
 * ```
 * @category errors
 * @since 0.1.0
 */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

/**
 * Turns the core's bad-input exceptions (unknown names, invalid options,
 * schedule divergence) into an `InputError`; anything else is rethrown.
 *
 * @example
 * ```ts
 * import { asInputError } from "@drvmodel/cli"
 * asInputError(new Error("x"), "replay") // throws the Error again
 * ```
 * @category errors
 * @since 0.1.0
 */
export const asInputError = (e: unknown, context?: string): InputError => {
  const prefix = context !== undefined ? `${context}: ` : ""
  if (e instanceof InputError) return e
  if (e instanceof UnknownName) return new InputError({ message: `${prefix}${e.message}` })
  if (e instanceof InvalidVariant) return new InputError({ message: `${prefix}${e.message}` })
  if (e instanceof Explorer.InvalidOptions) return new InputError({ message: `${prefix}${e.message}` })
  if (e instanceof Explorer.ScheduleDivergence) {
    return new InputError({ message: `${prefix}the schedule does not fit the model: ${e.message}` })
  }
  throw e
}

/**
 * Runs `f`, turning bad-input exceptions into a failed `InputError`; other
 * exceptions are defects.
 *
 * @example
 * ```ts
 * import { tryInput } from "@drvmodel/cli"
 * const value = tryInput(() => 1) // Effect<number, InputError>
 * ```
 * @category errors
 * @since 0.1.0
 */
export const tryInput = <A>(f: () => A, context?: string): Effect.Effect<A, InputError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      return Effect.fail(asInputError(e, context))
    }
  })
