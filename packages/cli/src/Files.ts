/**
 * Reading and writing counterexample and schedule files. Everything read is
 * Schema-validated; a file that does not validate (truncated, edited) is an
 * `InputError` naming the file and the first field that does not match.
 *
 * @since 0.1.0
 */
import { Explorer, Schedule } from "@drvmodel/core"
import { Effect, FileSystem, Path, type PlatformError, Schema } from "effect"
import { InputError } from "./InputError.ts"

/**
 * A counterexample file: the core's `Counterexample` plus the model it
 * belongs to (so `replay` knows where to look).
 *
 * @category models
 * @since 0.1.0
 */
export interface CounterexampleFile {
  readonly model: string | undefined
  readonly counterexample: Explorer.Counterexample
}

/** What a file held: a counterexample, or a bare schedule. */
export type Loaded =
  | ({ readonly _tag: "Counterexample"; readonly file: string } & CounterexampleFile)
  | { readonly _tag: "Schedule"; readonly file: string; readonly schedule: Schedule.Schedule }

/**
 * One line from a Schema error: `at finding.problem.blocked[0].task: Expected string`.
 *
 * @category errors
 * @since 0.1.0
 */
export const describeSchemaError = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error)
  const lines = text.split("\n").map((l) => l.trim())
  const at = lines.find((l) => l.startsWith("at ["))
  const what = lines.filter((l) => l !== "" && !l.startsWith("at [")).join("; ")
  if (at === undefined) return what
  const where = at
    .slice(3)
    .replace(/\["([^"]*)"\]/g, ".$1")
    .replace(/^\./, "")
  return `at ${where}: ${what}`
}

/** Why a file operation failed, in a few words: `no such file`, `it is a directory`, `EACCES`... */
const why = (e: PlatformError.PlatformError): string => {
  const reason = e.reason
  if (reason._tag === "BadArgument") return reason.description ?? "bad argument"
  if (reason._tag === "NotFound") return "no such file"
  const code = (reason.cause as NodeJS.ErrnoException | undefined)?.code
  return code === "EISDIR" ? "it is a directory" : (code ?? reason.description ?? reason._tag)
}

const readJson = (file: string): Effect.Effect<unknown, InputError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(fs.readFileString(file), (e) => new InputError({ message: `cannot read ${file}: ${why(e)}` }))
    try {
      return JSON.parse(text) as unknown
    } catch (e) {
      return yield* new InputError({ message: `${file} is not valid JSON (truncated or edited?): ${(e as Error).message}` })
    }
  })

/**
 * Decodes a counterexample from parsed JSON.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeCounterexample = (json: unknown, file: string): Effect.Effect<CounterexampleFile, InputError> => {
  const r = Schema.decodeUnknownExit(Explorer.Counterexample)(json)
  if (r._tag === "Failure") {
    const error = (r.cause as unknown as { reasons?: ReadonlyArray<{ error?: unknown }> }).reasons?.[0]?.error ?? r.cause
    return Effect.fail(new InputError({ message: `${file} is not a valid drvmodel counterexample: ${describeSchemaError(error)}` }))
  }
  const model =
    typeof json === "object" && json !== null && typeof (json as { model?: unknown }).model === "string"
      ? (json as { model: string }).model
      : undefined
  return Effect.succeed({ model, counterexample: r.value })
}

/**
 * Loads a counterexample file, or a bare schedule file (`{ "steps": [...] }`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Files } from "@drvmodel/cli"
 * const loaded = Files.load("report/abba--buggy--deadlock.json")
 * ```
 * @category decoding
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<Loaded, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(readJson(file), (json): Effect.Effect<Loaded, InputError> => {
    if (typeof json === "object" && json !== null && !Array.isArray(json) && !("format" in json) && "steps" in json) {
      const r = Schema.decodeUnknownExit(Schedule.Schedule)(json)
      if (r._tag === "Failure") {
        const error = (r.cause as unknown as { reasons?: ReadonlyArray<{ error?: unknown }> }).reasons?.[0]?.error ?? r.cause
        return Effect.fail(new InputError({ message: `${file} is not a valid drvmodel schedule: ${describeSchemaError(error)}` }))
      }
      return Effect.succeed({ _tag: "Schedule", file, schedule: r.value } as const)
    }
    return Effect.map(decodeCounterexample(json, file), (c) => ({ _tag: "Counterexample", file, ...c }) as const)
  })

/**
 * Loads a counterexample file (a bare schedule is an error here).
 *
 * @category decoding
 * @since 0.1.0
 */
export const loadCounterexample = (file: string): Effect.Effect<CounterexampleFile, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(load(file), (l) =>
    l._tag === "Counterexample"
      ? Effect.succeed(l)
      : Effect.fail(
          new InputError({ message: `${file} holds a bare schedule, not a counterexample: replay it with --scenario to get one` })
        )
  )

/**
 * The JSON text of a counterexample file.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeCounterexample = (model: string, cx: Explorer.Counterexample): string =>
  `${JSON.stringify({ model, ...Schema.encodeSync(Explorer.Counterexample)(cx) }, null, 2)}\n`

/**
 * A file name for a counterexample: `<scenario>--<variant>--<kind>.json`.
 *
 * @example
 * ```ts
 * import { Files } from "@drvmodel/cli"
 * Files.nameFor({ scenario: "abba", variant: "buggy", kind: "deadlock" }) // => "abba--buggy--deadlock.json"
 * ```
 * @category getters
 * @since 0.1.0
 */
export const nameFor = (
  cx: { readonly scenario: string; readonly variant?: string | undefined; readonly kind: string },
  suffix = ".json"
): string =>
  `${[cx.scenario, cx.variant, cx.kind]
    .filter((x) => x !== undefined)
    .map((x) => x!.replace(/[^A-Za-z0-9@._-]+/g, "-"))
    .join("--")}${suffix}`

/**
 * Writes a text file, creating its directory.
 *
 * @category encoding
 * @since 0.1.0
 */
export const write = (file: string, text: string): Effect.Effect<void, InputError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(file), { recursive: true })
    yield* fs.writeFileString(file, text)
  }).pipe(Effect.mapError((e) => new InputError({ message: `cannot write ${file}: ${why(e)}` })))
