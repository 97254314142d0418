/**
 * Reading and writing counterexample and schedule files. Everything read is
 * Schema-validated; a file that does not validate (truncated, edited) is an
 * `InputError` naming the file and the first field that does not match.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
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

/** Counterexamples with their traces are well under a megabyte; anything this large is not one. */
const maxFileBytes = 64 * 2 ** 20

const readJson = (file: string): Effect.Effect<unknown, InputError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    // Checked first: reading a FIFO or a device (/dev/zero) would block or never end.
    const info = yield* Effect.mapError(fs.stat(file), (e) => new InputError({ message: `cannot read ${file}: ${why(e)}` }))
    if (info.type === "File" && Number(info.size) > maxFileBytes)
      return yield* new InputError({
        message: `${file} is ${Math.round(Number(info.size) / 2 ** 20)} MB: too large for a drvmodel file (limit ${maxFileBytes / 2 ** 20} MB)`
      })
    if (info.type !== "File" && info.type !== "Directory")
      return yield* new InputError({ message: `cannot read ${file}: not a regular file` })
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

const errno = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e)

/**
 * Creates `dir` and its missing parents one level at a time. Not Node's
 * `mkdirSync(dir, { recursive: true })`: under /proc that call never returns.
 */
const makeDirs = (dir: string): void => {
  const missing: Array<string> = []
  for (let p = path.resolve(dir); !fs.existsSync(p); p = path.dirname(p)) {
    missing.push(p)
    if (path.dirname(p) === p) break
  }
  for (const p of missing.reverse()) fs.mkdirSync(p)
}

/**
 * Checks an output directory before any work is done, and creates it: an
 * existing file, a path under a regular file, an unwritable or uncreatable
 * directory is an `InputError` naming the problem. Every call here returns
 * promptly (no recursive mkdir).
 *
 * @example
 * ```ts
 * import { Files } from "@drvmodel/cli"
 * Files.prepareOutDir("found") // Effect<void, InputError>
 * ```
 * @category encoding
 * @since 0.1.0
 */
export const prepareOutDir = (dir: string, flag = "--out"): Effect.Effect<void, InputError> =>
  Effect.suspend(() => {
    const fail = (why: string) => Effect.fail(new InputError({ message: `${flag} ${dir}: ${why}` }))
    const abs = path.resolve(dir)
    // The nearest existing ancestor decides: it must be a directory we may write in.
    let existing = abs
    while (true) {
      let stat: fs.Stats | undefined
      try {
        stat = fs.statSync(existing)
      } catch (e) {
        const code = errno(e)
        if (code === "ENOTDIR") return fail("a parent is a regular file, not a directory")
        if (code !== "ENOENT") return fail(`cannot use it (${code})`)
      }
      if (stat !== undefined) {
        if (!stat.isDirectory())
          return fail(existing === abs ? "exists and is a file, not a directory" : `${existing} is a regular file, not a directory`)
        break
      }
      if (path.dirname(existing) === existing) return fail("no existing parent directory")
      existing = path.dirname(existing)
    }
    try {
      fs.accessSync(existing, fs.constants.W_OK)
    } catch {
      return fail(`${existing} is not writable`)
    }
    try {
      makeDirs(abs)
    } catch (e) {
      return fail(`cannot create it (${errno(e)})`)
    }
    return Effect.void
  })

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
    // One level at a time: a recursive mkdir never returns under /proc.
    yield* Effect.try({
      try: () => makeDirs(path.dirname(file)),
      catch: (e) => new InputError({ message: `cannot write ${file}: ${errno(e)}` })
    })
    yield* Effect.mapError(fs.writeFileString(file, text), (e) => new InputError({ message: `cannot write ${file}: ${why(e)}` }))
  })
