/**
 * The `drvmodel` command: explore, matrix, replay, shrink, report, list.
 *
 * Exit codes: 0 clean, 1 findings, 2 bad input or usage. Handlers record the
 * code with `setExitCode`; `main` maps failures (usage errors, bad input) to
 * one line on stderr and code 2.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { type Counterexample, Explorer, Finding, Render, type Report, type Scenario, Shrink, type Trace } from "@drvmodel/core"
import { Cause, Console, Context, Effect, FileSystem, Option, Ref } from "effect"
import { Argument, CliError, CliOutput, Command, Flag } from "effect/cli"
import * as Coverage from "./Coverage.ts"
import * as Exploration from "./Exploration.ts"
import * as Files from "./Files.ts"
import { InputError, tryInput } from "./InputError.ts"
import * as Interrupt from "./Interrupt.ts"
import * as Lenient from "./Lenient.ts"
import * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Partial from "./Partial.ts"
import * as Pool from "./Pool.ts"
import * as Progress from "./Progress.ts"
import * as ReportPages from "./ReportPages.ts"
import * as Shard from "./Shard.ts"
import * as Split from "./Split.ts"
import * as Style from "./Style.ts"

/** The version printed by `--version`. */
export const version = "0.1.0"

/**
 * The exit code the running command has recorded (0 clean, 1 findings, 130
 * interrupted without a verdict): one per invocation of `main`.
 *
 * @category services
 * @since 0.2.0
 */
export class RecordedExitCode extends Context.Service<RecordedExitCode, Ref.Ref<number>>()("@drvmodel/cli/Cli/RecordedExitCode") {}

/**
 * Records the exit code of the command being run (0 clean, 1 findings).
 *
 * @example
 * ```ts
 * import { Cli } from "@drvmodel/cli"
 * const found = Cli.setExitCode(1)
 * ```
 * @category lifecycle
 * @since 0.1.0
 */
export const setExitCode = (code: number): Effect.Effect<void, never, RecordedExitCode> =>
  Effect.flatMap(RecordedExitCode, (ref) => Ref.set(ref, code))

const style = Style.detect()

// -----------------------------------------------------------------------------
// Shared flags

const modelFlag = Flag.Literals("model", Models.modelNames).pipe(
  Flag.withDescription("Model to work on: mlx5 (the reference model) or classic (small known patterns)"),
  Flag.withDefault("mlx5" as Models.ModelName)
)
const modelOverride = Flag.Literals("model", Models.modelNames).pipe(
  Flag.withDescription("Model of the file (default: the one recorded in it, else the one that has its scenario)"),
  Flag.optional
)
const variantFlag = Flag.String("variant").pipe(Flag.withDescription("Design variant (default: the model's first)"), Flag.optional)
const fileArg = Argument.String("file").pipe(Argument.withDescription("A counterexample JSON file"))

const optionalToUndefined = <A>(o: Option.Option<A>): A | undefined => (Option.isSome(o) ? o.value : undefined)

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** Resolves the model of a counterexample: flag, then the file, then by its names. */
const modelOf = (flag: string | undefined, file: Files.CounterexampleFile, fileName: string): Effect.Effect<string, InputError> => {
  const name = flag ?? file.model ?? Models.infer(file.counterexample.scenario, file.counterexample.variant)
  return name !== undefined
    ? Effect.succeed(name)
    : Effect.fail(
        new InputError({
          message: `${fileName}: no model has scenario "${file.counterexample.scenario}"${file.counterexample.variant !== undefined ? ` with variant "${file.counterexample.variant}"` : ""}; known models: ${Models.modelNames.join(", ")}`
        })
      )
}

const printFinding = (cx: Counterexample, replayCommand?: string) =>
  Console.log(
    Render.Text.render(cx, replayCommand !== undefined ? { replayCommand } : {})
      .replace(/^(DEADLOCK|LIVELOCK|INVARIANT BROKEN|DEFECT)/m, (m) => style.red(style.bold(m)))
      .replace(/ \*\*\* .* \*\*\*$/m, (m) => style.red(m))
  )

// -----------------------------------------------------------------------------
// explore

const explore = Command.make(
  "explore",
  {
    scenario: Argument.String("scenario").pipe(Argument.withDescription("Scenario name (see `drvmodel list`)")),
    model: modelFlag,
    variant: variantFlag,
    strategy: Flag.Literals("strategy", ["random", "pct", "dfs", "dpor"] as const).pipe(
      Flag.withDescription("Search strategy (default: the scenario's); dpor: one execution per class of equivalent interleavings"),
      Flag.optional
    ),
    schedules: Flag.Int("schedules").pipe(Flag.withDescription("Maximum number of executions"), Flag.optional),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Seed for random and PCT"), Flag.optional),
    depth: Flag.Int("depth").pipe(Flag.withDescription("PCT depth d (bugs needing d-1 preemptions)"), Flag.optional),
    preemptions: Flag.Int("preemptions").pipe(Flag.withDescription("DFS preemption bound (DPOR's with --bounded)"), Flag.optional),
    bounded: Flag.Boolean("bounded").pipe(
      Flag.withDescription("DPOR: also apply the preemption bound (bounded DPOR, never exhaustive)"),
      Flag.withDefault(false)
    ),
    maxSteps: Flag.Int("max-steps").pipe(Flag.withDescription("Steps per execution before it is cut short"), Flag.optional),
    timeouts: Flag.Literals("timeouts", ["idle", "any"] as const).pipe(
      Flag.withDescription("When a pending timeout may expire: idle (only when nothing else can run) or any (at any step)"),
      Flag.optional
    ),
    stopOnFirst: Flag.Boolean("stop-on-first").pipe(Flag.withDescription("Stop at the first finding"), Flag.withDefault(false)),
    races: Flag.Boolean("races").pipe(
      Flag.withDescription(
        "The happens-before checks (default on): data races, and a free unordered with an access; --no-races lets a run go on past such a pair, to see what it leads to (an access after a free in the run's order is still reported; counterexamples record it)"
      ),
      Flag.withDefault(true)
    ),
    shrink: Flag.Boolean("shrink").pipe(
      Flag.withDescription("Shrink findings (fewest preemptions first); --no-shrink to skip"),
      Flag.withDefault(true)
    ),
    out: Flag.String("out").pipe(Flag.withDescription("Directory to write counterexample JSON files to"), Flag.optional),
    jobs: Flag.Int("jobs").pipe(
      Flag.withDescription(
        "Worker threads for the segments of the exploration (random/PCT: 1000-schedule seed ranges; DFS: subtrees); default: the number of cores; the result does not depend on it"
      ),
      Flag.optional
    ),
    watchdog: Flag.Int("watchdog").pipe(
      Flag.withDescription("Seconds a worker may go without reaching a scheduling point before it is terminated (0: never)"),
      Flag.withDefault(60)
    ),
    shard: Flag.String("shard").pipe(
      Flag.withDescription(
        "Explore only shard i of n (i/n, 1-based) of the exploration's segments and write a partial result to --out; combine with `drvmodel merge`"
      ),
      Flag.optional
    )
  },
  Effect.fn("explore")(function* (a) {
    const started = performance.now()
    const resolved = yield* Models.resolve(a.model, a.scenario, optionalToUndefined(a.variant))
    const o = yield* Models.optionsFor(resolved.info, {
      strategy: optionalToUndefined(a.strategy),
      schedules: optionalToUndefined(a.schedules),
      seed: optionalToUndefined(a.seed),
      depth: optionalToUndefined(a.depth),
      preemptions: optionalToUndefined(a.preemptions),
      maxSteps: optionalToUndefined(a.maxSteps),
      timeouts: optionalToUndefined(a.timeouts),
      ...(a.stopOnFirst ? { stopOnFirst: true } : {}),
      ...(a.bounded ? { bounded: true } : {}),
      ...(a.races ? {} : { races: false })
    })
    const out = optionalToUndefined(a.out)
    const shardText = optionalToUndefined(a.shard)
    const shard = shardText === undefined ? undefined : yield* tryInput(() => Shard.parse(shardText))
    if (shard !== undefined && out === undefined)
      return yield* new InputError({ message: "explore --shard needs --out: the directory the shard's partial result is written to" })
    // Checked (and created) before exploring: a bad --out must not cost the exploration.
    if (out !== undefined) yield* Files.prepareOutDir(out)
    const what =
      o.strategy === "dfs"
        ? `dfs, preemption bound ${o.preemptions}`
        : o.strategy === "dpor"
          ? `dpor${o.bounded ? `, preemption bound ${o.preemptions}` : ""}`
          : o.strategy === "pct"
            ? `pct, depth ${o.depth}, seed ${o.seed}`
            : `random, seed ${o.seed}`
    yield* Console.log(
      `explore ${a.scenario} (model ${a.model}, variant ${resolved.variant}): ${what}, up to ${plural(o.schedules, "schedule")}`
    )
    const jobs = optionalToUndefined(a.jobs) ?? Pool.defaultJobs()
    if (jobs < 1 || jobs > 1024) return yield* new InputError({ message: `--jobs must be an integer from 1 to 1024, got ${jobs}` })
    if (a.watchdog < 0) return yield* new InputError({ message: `--watchdog must be 0 (off) or a number of seconds, got ${a.watchdog}` })
    const stop = yield* Interrupt.Stop
    const progress = Progress.make(`${a.scenario}/${resolved.variant}`, o.schedules, style)
    // One segment: in this thread, as always. More: on worker threads (same result for any --jobs).
    const segments = Split.plan(resolved.scenario, o)
    if (shard !== undefined && out !== undefined) {
      const mine = Partial.segmentsOf(segments, shard)
      const { results, stuck } = yield* Pool.explore(a.model, resolved.info.name, resolved.variant, o, mine, {
        jobs,
        watchdogMs: a.watchdog * 1000,
        shouldStop: stop.requested,
        onTick: progress.update,
        planned: segments.length
      })
      progress.done()
      const interrupted = results.length < mine.length || results.some((r) => r.stopped === "interrupted")
      const file = path.join(out, Partial.fileName)
      yield* Files.write(
        file,
        Partial.encodeExplore({
          format: "drvmodel-explore-shard/1",
          model: a.model,
          scenario: resolved.info.name,
          variant: resolved.variant,
          sources: Partial.sourceDigest(),
          options: o,
          shrink: a.shrink,
          shard,
          segments: segments.length,
          indices: mine.map((m) => m.index),
          results,
          stuck,
          interrupted,
          elapsedMs: Math.round(performance.now() - started)
        })
      )
      for (const s of stuck) yield* Console.log(style.red(`stuck: ${Pool.stuckText(s)}`))
      const findings = results.reduce((n, r) => n + r.counterexamples.length, 0)
      yield* Console.log(
        `shard ${Shard.format(shard)}: ${plural(results.length, "segment")} of ${segments.length}, ${plural(
          results.reduce((n, r) => n + r.runs, 0),
          "run"
        )}, ${plural(findings, "finding")} (before merging); wrote ${file}${interrupted ? " (interrupted: partial shard)" : ""}; combine the shards with \`drvmodel merge <dirs…> --out found\``
      )
      return yield* setExitCode(findings > 0 || stuck.length > 0 ? 1 : interrupted ? 130 : 0)
    }
    const { report, stuck } =
      segments.length === 1
        ? {
            report: yield* Exploration.explore(resolved.scenario, o, {
              variant: resolved.variant,
              shouldStop: stop.requested,
              onProgress: progress.update
            }),
            stuck: []
          }
        : yield* Pool.explore(a.model, resolved.info.name, resolved.variant, o, segments, {
            jobs,
            watchdogMs: a.watchdog * 1000,
            shouldStop: stop.requested,
            onTick: progress.update
          })
    progress.done()
    return yield* conclude(report, stuck, { model: a.model, scenario: resolved.scenario, o, shrink: a.shrink, out })
  })
).pipe(
  Command.withDescription("Explore the interleavings of one scenario on one variant"),
  Command.withExamples([
    {
      command: "drvmodel explore abba --model classic --variant buggy",
      description: "Find the ABBA deadlock with the scenario's default budget"
    },
    { command: "drvmodel explore abba --model classic --strategy pct --depth 2 --schedules 500 --seed 7", description: "PCT, 500 runs" },
    {
      command: "drvmodel explore lost-update --model classic --strategy dfs --preemptions 1 --out found",
      description: "Bounded DFS; write counterexamples to found/"
    },
    {
      command: "drvmodel explore teardown-with-pending-work --shard 2/3 --out shard-2",
      description: "One third of the exploration's segments (on one of three machines); then `drvmodel merge`"
    }
  ])
)

/**
 * What `explore` (and `merge` of an exploration's shards) says and writes
 * once the exploration is done: stuck tasks, the verdict, the (shrunk)
 * findings and their files; the exit code.
 */
const conclude = (
  report: Report,
  stuck: ReadonlyArray<Pool.Stuck>,
  c: {
    readonly model: string
    readonly scenario: Scenario
    readonly o: Explorer.ExploreOptions
    readonly shrink: boolean
    readonly out: string | undefined
  }
) =>
  Effect.gen(function* () {
    const { o, out } = c
    for (const s of stuck) yield* Console.log(style.red(`stuck: ${Pool.stuckText(s)}`))
    if (stuck.length > 0 && report.counterexamples.length === 0) return yield* setExitCode(1)
    const seconds = (report.elapsedMs / 1000).toFixed(1)
    const coverage = Coverage.describe(report)
    const stopped =
      report.stopped === "interrupted"
        ? " (interrupted: partial results)"
        : report.stopped === "exhausted"
          ? coverage.kind === "dpor" && coverage.exhausted !== true
            ? " (search finished, NOT exhaustive)"
            : " (space exhausted)"
          : ""
    // Interrupted: write the evidence as found, promptly, instead of shrinking it first.
    const cxs =
      c.shrink && report.stopped !== "interrupted"
        ? Matrix.shrinkAll(c.scenario, o, report.counterexamples).map((s) => s.counterexample)
        : report.counterexamples
    if (cxs.length === 0) {
      const explored =
        coverage.kind === "dpor"
          ? `${coverage.classes ?? 0} class${coverage.classes === 1 ? "" : "es"} of interleavings (${plural(report.runs, "execution")})`
          : plural(report.runs, "schedule")
      yield* Console.log(`${style.green("clean")}: ${explored} explored in ${seconds}s${stopped}, no finding`)
      yield* Console.log(`coverage: ${coverage.text}`)
      if (report.stepLimitHits > 0)
        yield* Console.log(`note: ${plural(report.stepLimitHits, "run")} hit the step limit (${o.maxSteps}) and were cut short`)
      // Interrupted without a finding is no clean verdict: the conventional 130.
      return yield* setExitCode(report.stopped === "interrupted" ? 130 : 0)
    }
    yield* Console.log(`${style.red(plural(cxs.length, "finding"))} in ${plural(report.runs, "schedule")} (${seconds}s)${stopped}:\n`)
    // Several findings of one kind (two different defects) get numbered names, as in the matrix:
    // one file per finding, none overwritten.
    const used = new Set<string>()
    for (const cx of cxs) {
      let replay: string | undefined
      if (out !== undefined) {
        let name = Files.nameFor(cx)
        for (let n = 2; used.has(name); n++) name = Files.nameFor(cx, `--${n}.json`)
        used.add(name)
        const file = path.join(out, name)
        yield* Files.write(file, Files.encodeCounterexample(c.model, cx))
        replay = `pnpm drvmodel replay ${file}`
      }
      yield* printFinding(cx, replay)
    }
    // Interrupted is the conventional 130 even with findings: the search did not finish.
    return yield* setExitCode(report.stopped === "interrupted" ? 130 : 1)
  })

// -----------------------------------------------------------------------------
// matrix

/** Upper bound of a shrink budget: far beyond any useful one, it keeps absurd values out. */
const maxReplays = 10_000_000

const matrix = Command.make(
  "matrix",
  {
    model: modelFlag,
    out: Flag.String("out").pipe(Flag.withDescription("Report directory"), Flag.withDefault("report")),
    shrinkBudget: Flag.Int("shrink-budget").pipe(Flag.withDescription("Replays allowed to shrink each finding"), Flag.withDefault(600)),
    jobs: Flag.Int("jobs").pipe(
      Flag.withDescription("Worker threads computing cells at once (default: the number of cores); the result does not depend on it"),
      Flag.optional
    ),
    shard: Flag.String("shard").pipe(
      Flag.withDescription("Compute only shard i of n (i/n, 1-based) and write a partial result to --out; combine with `drvmodel merge`"),
      Flag.optional
    ),
    variant: Flag.String("variant").pipe(
      Flag.withDescription(
        "Only this variant (repeatable; listed, or composed as <base>+<flag>[=value]…, e.g. merged+v1-guard; see `drvmodel list`); default: every listed variant"
      ),
      Flag.atLeast(0)
    ),
    scenario: Flag.String("scenario").pipe(
      Flag.withDescription("Only this scenario, a row of the matrix (repeatable; see `drvmodel list`); default: every scenario"),
      Flag.atLeast(0)
    ),
    watchdog: Flag.Int("watchdog").pipe(
      Flag.withDescription("Seconds a cell may go without reaching a scheduling point before its worker is terminated (0: never)"),
      Flag.withDefault(60)
    )
  },
  Effect.fn("matrix")(function* (a) {
    if (a.shrinkBudget < 0 || a.shrinkBudget > maxReplays)
      return yield* new InputError({ message: `--shrink-budget must be between 0 and ${maxReplays}, got ${a.shrinkBudget}` })
    const chosen = a.variant.length > 0 ? a.variant : undefined
    const rows = a.scenario.length > 0 ? a.scenario : undefined
    const listed = yield* tryInput(() => Models.get(a.model))
    const some = chosen === undefined ? listed : yield* tryInput(() => Models.withVariants(listed, chosen), `model ${a.model}`)
    const model = rows === undefined ? some : yield* tryInput(() => Models.withScenarios(some, rows), `model ${a.model}`)
    yield* Models.requireScenarios(model)
    const shardText = optionalToUndefined(a.shard)
    // A shard's partial.json and `merge` know the model's cells only: a chosen set of variants is one run.
    if (shardText !== undefined && chosen !== undefined)
      return yield* new InputError({ message: "--shard cannot be combined with --variant (a shard is a slice of the whole matrix)" })
    if (shardText !== undefined && rows !== undefined)
      return yield* new InputError({ message: "--shard cannot be combined with --scenario (a shard is a slice of the whole matrix)" })
    const shard = shardText === undefined ? undefined : yield* tryInput(() => Shard.parse(shardText))
    if (a.watchdog < 0) return yield* new InputError({ message: `--watchdog must be 0 (off) or a number of seconds, got ${a.watchdog}` })
    const jobs = optionalToUndefined(a.jobs) ?? Pool.defaultJobs()
    if (jobs < 1 || jobs > 1024) return yield* new InputError({ message: `--jobs must be an integer from 1 to 1024, got ${jobs}` })
    const total = Shard.select(Shard.units(model), shard).length
    // Checked (and created) before any cell runs: a bad --out must not cost the matrix.
    yield* Files.prepareOutDir(a.out)
    yield* Console.log(
      `matrix: model ${model.name}, ${plural(model.scenarios.length, "scenario")} x ${plural(model.variants.length, "variant")}${shard !== undefined ? `, shard ${Shard.format(shard)} (${plural(total, "cell")})` : ""}, ${plural(Math.min(jobs, total), "worker")}`
    )
    const stop = yield* Interrupt.Stop
    yield* removeStaleCounterexamples(a.out)
    const progress = Progress.cells("matrix", total, style)
    const { result, counterexamples, stuck } = yield* Pool.matrix(a.model, {
      jobs,
      ...(chosen !== undefined ? { variants: chosen } : {}),
      ...(rows !== undefined ? { scenarios: rows } : {}),
      out: a.out,
      shrinkBudget: a.shrinkBudget,
      ...(shard !== undefined ? { shard } : {}),
      watchdogMs: a.watchdog * 1000,
      shouldStop: stop.requested,
      onTick: progress.update,
      onCellDone: (cell) => {
        if (!style.tty) {
          process.stdout.write(
            `  ${cell.scenario} / ${cell.variant}: ${Matrix.verdictText(cell)} (${Matrix.detailText(cell)}, ${(cell.elapsedMs / 1000).toFixed(1)}s)\n`
          )
        }
      }
    })
    progress.done()
    for (const s of stuck) yield* Console.log(style.red(`${s.scenario} / ${s.variant}: stuck: ${Pool.stuckText(s)}`))
    if (shard !== undefined) {
      const file = path.join(a.out, Partial.fileName)
      yield* Files.write(
        file,
        Partial.encode({
          format: "drvmodel-shard/1",
          model: model.name,
          sources: Partial.sourceDigest(),
          options: { shrinkBudget: a.shrinkBudget },
          shard,
          out: a.out,
          positions: Shard.select(Shard.units(model), shard).map((u) => u.position),
          cells: result.cells,
          counterexamples,
          interrupted: result.interrupted,
          elapsedMs: result.elapsedMs
        })
      )
      const findings = result.cells.filter((c) => c.verdict === "finding").length
      yield* Console.log(
        `shard ${Shard.format(shard)}: ${plural(result.cells.length, "cell")}, ${findings} with findings; wrote ${file} in ${(result.elapsedMs / 1000).toFixed(1)}s${result.interrupted ? " (interrupted: partial shard)" : ""}; combine the shards with \`drvmodel merge <dirs…> --out report\``
      )
      return yield* setExitCode(findings > 0 ? 1 : result.interrupted ? 130 : 0)
    }
    return yield* setExitCode(yield* writeMatrix(result, counterexamples, a.out, matrixCommand(a.model, a.out, chosen, rows)))
  })
).pipe(
  Command.withDescription(
    "Run every scenario on every variant with its default budget, with lock-order analysis; write report/ (matrix.json, README.md, one JSON per finding)"
  ),
  Command.withExamples([
    { command: "drvmodel matrix", description: "The mlx5 findings matrix into report/, on every core" },
    { command: "drvmodel matrix --model classic --out /tmp/classic-report --jobs 1", description: "The classic patterns on one worker" },
    {
      command: "drvmodel matrix --variant merged --variant merged+v1-guard --out /tmp/what-if",
      description: "Two columns: merged, and merged with V1's atomic guard (a variant composed from rule flags)"
    },
    {
      command: "drvmodel matrix --shard 2/3 --out shard-2",
      description: "One third of the cells (on one of three machines); then `drvmodel merge`"
    }
  ])
)

const matrixCommand = (model: string, out: string, variants: ReadonlyArray<string> = [], scenarios: ReadonlyArray<string> = []) =>
  `pnpm drvmodel matrix --model ${model}${scenarios.map((s) => ` --scenario ${s}`).join("")}${variants.map((v) => ` --variant ${v}`).join("")}${out !== "report" ? ` --out ${out}` : ""}`

/** Writes matrix.json and README.md, prints the table and the findings; returns the exit code. */
const writeMatrix = (result: Matrix.MatrixResult, counterexamples: ReadonlyArray<Counterexample>, out: string, command: string) =>
  Effect.gen(function* () {
    yield* Files.write(path.join(out, "matrix.json"), `${JSON.stringify(result, null, 2)}\n`)
    const report = ReportPages.render(result, counterexamples, command)
    yield* Files.write(path.join(out, "README.md"), report.readme)
    for (const page of report.pages) yield* Files.write(path.join(out, page.path), page.text)
    yield* Console.log(`\n${Matrix.table(result, style)}\n`)
    const findings = result.cells.filter((c) => c.verdict === "finding")
    for (const c of findings) {
      for (const x of c.counterexamples) {
        const shrunk =
          x.original !== undefined
            ? ` (shrunk from ${plural(x.original.steps, "step")}, ${plural(x.original.preemptions, "preemption")})`
            : ""
        yield* Console.log(
          `${c.scenario} / ${c.variant}: ${x.kind}: depth ${x.depth}, ${x.steps} steps${shrunk}${x.path !== undefined ? `: pnpm drvmodel replay ${x.path}` : ""}`
        )
      }
    }
    yield* Console.log(
      `\n${plural(result.cells.length, "cell")}, ${findings.length} with findings; wrote ${path.join(out, "matrix.json")} and ${path.join(out, "README.md")} in ${(result.elapsedMs / 1000).toFixed(1)}s${result.interrupted ? " (interrupted: partial matrix)" : ""}`
    )
    // Interrupted is the conventional 130 even with findings: the matrix is incomplete.
    return result.interrupted ? 130 : findings.length > 0 ? 1 : 0
  })

// -----------------------------------------------------------------------------
// merge

const merge = Command.make(
  "merge",
  {
    dirs: Argument.String("dir").pipe(
      Argument.withDescription("The --out directories of `matrix --shard i/n` (or of `explore --shard i/n`) runs, one per shard"),
      Argument.variadic()
    ),
    out: Flag.String("out").pipe(Flag.withDescription("Report directory"), Flag.withDefault("report"))
  },
  Effect.fn("merge")(function* (a) {
    const fs = yield* FileSystem.FileSystem
    const shards = yield* Partial.read(a.dirs)
    if (shards.kind === "explore") {
      const { first, report, stuck } = yield* Partial.mergeExplore(shards.parts)
      const resolved = yield* Models.resolve(first.model, first.scenario, first.variant)
      yield* Files.prepareOutDir(a.out)
      yield* Console.log(
        `merge: ${plural(a.dirs.length, "shard")} of explore ${first.scenario} (model ${first.model}, variant ${first.variant}), ${plural(first.segments, "segment")}`
      )
      return yield* conclude(report, stuck, {
        model: first.model,
        scenario: resolved.scenario,
        o: first.options,
        shrink: first.shrink,
        out: a.out
      })
    }
    const { result, counterexamples, files } = yield* Partial.merge(a.dirs, a.out)
    yield* removeStaleCounterexamples(a.out)
    for (const f of files) {
      const text = yield* Effect.mapError(
        fs.readFileString(f.from),
        (e) => new InputError({ message: `merge: cannot read ${f.from}: ${e.reason._tag === "NotFound" ? "no such file" : e.message}` })
      )
      yield* Files.write(f.to, text)
    }
    yield* Console.log(`merge: ${plural(a.dirs.length, "shard")}, ${plural(result.cells.length, "cell")} of model ${result.model}`)
    return yield* setExitCode(yield* writeMatrix(result, counterexamples, a.out, matrixCommand(result.model, a.out)))
  })
).pipe(
  Command.withDescription(
    "Combine the partial results of `matrix --shard i/n` runs into the report a single `matrix` run writes, or those of `explore --shard i/n` runs into what a single `explore` prints and writes (refuses shards of different runs or missing shards)"
  ),
  Command.withExamples([
    { command: "drvmodel merge shard-1 shard-2 shard-3 --out report", description: "Three shards into report/" },
    { command: "drvmodel merge e-1 e-2 --out found", description: "Two shards of one exploration: its findings into found/" }
  ])
)

/** Removes counterexample files of an earlier matrix run, so the directory matches matrix.json. */
const removeStaleCounterexamples = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    // A directory that does not exist (yet) has nothing stale.
    const entries = yield* Effect.orElseSucceed(fs.readDirectory(dir), (): ReadonlyArray<string> => [])
    for (const e of entries) {
      if (!e.endsWith(".json") || e === "matrix.json") continue
      const file = path.join(dir, e)
      const text = yield* Effect.orElseSucceed(fs.readFileString(file), () => "")
      // Not ours, unreadable or not removable: leave it.
      if (text.includes('"drvmodel-counterexample/1"')) yield* Effect.ignore(fs.remove(file))
    }
  })

// -----------------------------------------------------------------------------
// replay

const replay = Command.make(
  "replay",
  {
    file: Argument.String("file").pipe(
      Argument.withDescription('A counterexample JSON file, or a schedule file ({"steps": [...]}) with --scenario')
    ),
    model: modelOverride,
    variant: Flag.String("variant").pipe(Flag.withDescription("Replay on another variant than the recorded one"), Flag.optional),
    scenario: Flag.String("scenario").pipe(Flag.withDescription("Scenario of a bare schedule file"), Flag.optional),
    lenient: Flag.Boolean("lenient").pipe(
      Flag.withDescription(
        "Skip recorded steps whose task cannot run, and run on non-preemptively past the end (for other variants or edited models)"
      ),
      Flag.withDefault(false)
    )
  },
  Effect.fn("replay")(function* (a) {
    const loaded = yield* Files.load(a.file)
    let base: Files.CounterexampleFile
    if (loaded._tag === "Schedule") {
      const scenario = optionalToUndefined(a.scenario)
      if (scenario === undefined)
        return yield* new InputError({ message: `${a.file} is a bare schedule: name its scenario with --scenario` })
      base = {
        model: optionalToUndefined(a.model) ?? "mlx5",
        counterexample: emptyCounterexample(scenario, optionalToUndefined(a.variant), loaded.schedule)
      }
    } else base = loaded
    const modelName = yield* modelOf(optionalToUndefined(a.model), base, a.file)
    const recorded = base.counterexample
    const resolved = yield* Models.resolve(modelName, recorded.scenario, optionalToUndefined(a.variant) ?? recorded.variant)
    const o = yield* Models.optionsFor(resolved.info)
    let skipped = 0
    const r = yield* tryInput(() => {
      if (!a.lenient)
        return Effect.runSync(
          Explorer.replay(resolved.scenario, recorded.schedule, { maxSteps: o.maxSteps, livelockBound: o.livelockBound })
        )
      const l = Lenient.replay(resolved.scenario, recorded.schedule, o)
      skipped = l.skipped
      return l.result
    }, a.file)
    // A counterexample replayed as recorded whose schedule ran out before its finding: the file
    // was cut short (or edited). That is no clean result: say so, as bad input.
    const sameFinding =
      r.outcome._tag === "Found" && Finding.signatureOf(r.outcome.finding.problem) === Finding.signatureOf(recorded.finding.problem)
    if (
      loaded._tag === "Counterexample" &&
      !a.lenient &&
      resolved.variant === recorded.variant &&
      !sameFinding &&
      r.schedule.steps.length > recorded.schedule.steps.length
    ) {
      const then =
        r.outcome._tag === "Found"
          ? `found something else (${r.outcome.finding.summary})`
          : r.outcome._tag === "StepLimit"
            ? "hit the step limit"
            : "finished without a finding"
      return yield* new InputError({
        message: `${a.file}: the schedule ends after ${plural(recorded.schedule.steps.length, "step")}, before the recorded finding (${recorded.finding.summary}, at step ${recorded.finding.step}); run on without preemption, the run ${then}`
      })
    }
    const lenient = a.lenient ? ` (lenient: ${plural(skipped, "recorded step")} skipped)` : ""
    yield* Console.log(
      `replay ${a.file}: scenario ${recorded.scenario}, model ${modelName}, variant ${resolved.variant}: ${plural(r.steps, "step")}, ${plural(r.preemptions, "preemption")}${lenient}`
    )
    if (r.outcome._tag !== "Found") {
      const how = r.outcome._tag === "StepLimit" ? `hit the step limit (${o.maxSteps}) without a finding` : "finished cleanly: no finding"
      const note = loaded._tag === "Counterexample" ? ` (the file recorded: ${recorded.finding.summary})` : ""
      yield* Console.log(`${style.green("clean")}: the run ${how}${note}`)
      return yield* setExitCode(0)
    }
    const finding = r.outcome.finding
    const cx: Counterexample = {
      ...recorded,
      variant: resolved.variant,
      kind: Finding.kindOf(finding.problem),
      finding,
      steps: r.steps,
      preemptions: r.preemptions,
      schedule: r.schedule,
      trace: r.trace
    }
    if (loaded._tag === "Counterexample" && Finding.signatureOf(finding.problem) !== Finding.signatureOf(recorded.finding.problem)) {
      yield* Console.log(style.yellow(`note: a different finding than the one recorded (${recorded.finding.summary})`))
    }
    yield* printFinding(cx)
    return yield* setExitCode(1)
  })
).pipe(
  Command.withDescription("Replay a counterexample (or a schedule) and print what happens"),
  Command.withExamples([
    { command: "drvmodel replay report/abba--buggy--deadlock.json", description: "Replay a finding of the matrix" },
    {
      command: "drvmodel replay report/abba--buggy--deadlock.json --variant fixed --lenient",
      description: "Try the same schedule on the fixed variant"
    }
  ])
)

const emptyCounterexample = (scenario: string, variant: string | undefined, schedule: Counterexample["schedule"]): Counterexample => ({
  format: "drvmodel-counterexample/1",
  scenario,
  ...(variant !== undefined ? { variant } : {}),
  strategy: "replay",
  run: 0,
  kind: "none",
  finding: { problem: { _tag: "Defect", task: "-", message: "-" }, step: 0, time: 0, summary: "a bare schedule" },
  steps: 0,
  preemptions: 0,
  schedule,
  trace: []
})

// -----------------------------------------------------------------------------
// shrink

const shrink = Command.make(
  "shrink",
  {
    file: fileArg,
    model: modelOverride,
    out: Flag.String("out").pipe(
      Flag.withDescription("Where to write the shrunk counterexample (default: <file>.shrunk.json)"),
      Flag.optional
    ),
    budget: Flag.Int("budget").pipe(Flag.withDescription("Replays allowed"), Flag.withDefault(2000)),
    deep: Flag.Boolean("deep").pipe(
      Flag.withDescription(
        "First search every schedule with fewer preemptions (bounded DFS, up to 20000 runs per bound) for the same finding: proves the depth minimal when the search is exhausted"
      ),
      Flag.withDefault(false)
    )
  },
  Effect.fn("shrink")(function* (a) {
    const file = yield* Files.loadCounterexample(a.file)
    const modelName = yield* modelOf(optionalToUndefined(a.model), file, a.file)
    const cx = file.counterexample
    const resolved = yield* Models.resolve(modelName, cx.scenario, cx.variant)
    const o = yield* Models.optionsFor(resolved.info)
    if (a.budget < 1 || a.budget > maxReplays)
      return yield* new InputError({ message: `--budget must be between 1 and ${maxReplays}, got ${a.budget}` })
    // A strict replay first: a schedule that no longer fits the model is named as such.
    yield* tryInput(
      () => Effect.runSync(Explorer.replay(resolved.scenario, cx.schedule, { maxSteps: o.maxSteps, livelockBound: o.livelockBound })),
      a.file
    )
    const shrunk = yield* Effect.suspend(() => {
      try {
        return Effect.succeed(
          Effect.runSync(
            Shrink.counterexample(resolved.scenario, cx, {
              maxReplays: a.budget,
              maxSteps: o.maxSteps,
              livelockBound: o.livelockBound,
              ...(a.deep ? { minimalDepth: { runs: 20_000 } } : {})
            })
          )
        )
      } catch (e) {
        if (e instanceof Shrink.NotReproduced)
          return Effect.fail(
            new InputError({
              message: `${a.file}: the schedule does not reproduce its finding (${cx.finding.summary}): the model changed?`
            })
          )
        if (e instanceof Explorer.ScheduleDivergence)
          return Effect.fail(new InputError({ message: `${a.file}: the schedule does not fit the model: ${e.message}` }))
        throw e
      }
    })
    const out = optionalToUndefined(a.out) ?? `${a.file.replace(/(\.shrunk)?\.json$/, "")}.shrunk.json`
    const after = shrunk.counterexample
    yield* Files.write(out, Files.encodeCounterexample(modelName, after))
    yield* Console.log(
      `shrunk ${a.file}: ${plural(cx.steps, "step")}, ${plural(cx.preemptions, "preemption")} -> ${plural(after.steps, "step")}, ${plural(after.preemptions, "preemption")} (${shrunk.result.replays} replays${shrunk.result.complete ? "" : ", budget exhausted"})`
    )
    const search = shrunk.result.depthSearch
    const proof =
      search === undefined
        ? ""
        : search.minimal
          ? after.preemptions === 0
            ? " (minimal)"
            : ` (minimal: no schedule with at most ${after.preemptions - 1} preemption${after.preemptions === 2 ? "" : "s"} reproduces it; bounded search exhausted)`
          : ` (not proven minimal: ${search.bounds
              .filter((b) => !b.exhausted && b.bound < after.preemptions)
              .map((b) => `bound ${b.bound} not exhausted in ${b.runs} runs`)
              .join(", ")})`
    yield* Console.log(`depth: ${after.preemptions}${proof}`)
    yield* Console.log(`wrote ${out}\n`)
    yield* printFinding(after, `pnpm drvmodel replay ${out}`)
    return yield* setExitCode(1)
  })
).pipe(
  Command.withDescription("Shrink a counterexample: same finding, fewest preemptions, then fewest steps"),
  Command.withExamples([
    { command: "drvmodel shrink found/abba--buggy--deadlock.json --budget 500", description: "Shrink a finding of explore" }
  ])
)

// -----------------------------------------------------------------------------
// report

const formats = ["text", "mermaid", "html", "chrome-trace"] as const
type Format = (typeof formats)[number]
const extensionOf: Record<Format, string> = { text: ".txt", mermaid: ".md", html: ".html", "chrome-trace": ".trace.json" }

/** Replays with state capture for the richer renderings; falls back to the stored trace. */
const stateTrace = (
  modelFlag: string | undefined,
  file: Files.CounterexampleFile,
  fileName: string
): Effect.Effect<Trace.Trace | undefined> =>
  Effect.gen(function* () {
    const cx = file.counterexample
    const modelName = flagOrFile(modelFlag, file)
    if (modelName === undefined) return undefined
    const resolved = yield* Models.resolve(modelName, cx.scenario, cx.variant)
    const o = yield* Models.optionsFor(resolved.info)
    const r = yield* tryInput(() =>
      Effect.runSync(
        Explorer.replay(resolved.scenario, cx.schedule, { captureState: true, maxSteps: o.maxSteps, livelockBound: o.livelockBound })
      )
    )
    return r.trace
  }).pipe(
    Effect.catch((e: InputError) =>
      Effect.as(Console.error(`note: ${fileName}: rendering the recorded trace without model state (${e.message})`), undefined)
    )
  )

/** In a directory, a JSON file that parses and does not claim to be a counterexample is someone else's: skip it. */
const isCounterexampleFile = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.option(fs.readFileString(file))
    if (Option.isNone(text)) return true
    try {
      const json = JSON.parse(text.value) as unknown
      return typeof json === "object" && json !== null && "format" in json
    } catch {
      return true
    }
  })

const flagOrFile = (flag: string | undefined, file: Files.CounterexampleFile) =>
  flag ?? file.model ?? Models.infer(file.counterexample.scenario, file.counterexample.variant)

/**
 * Renders a counterexample in a format.
 *
 * @category rendering
 * @since 0.1.0
 */
export const renderAs = (format: Format, cx: Counterexample, trace: Trace.Trace | undefined, replayCommand?: string): string => {
  const withTrace = trace !== undefined ? { trace } : {}
  switch (format) {
    case "text":
      return Render.Text.render(cx, { ...withTrace, ...(replayCommand !== undefined ? { replayCommand } : {}) })
    case "mermaid":
      return Render.Mermaid.render(cx, withTrace)
    case "html":
      return Render.Html.render(cx, withTrace)
    case "chrome-trace":
      return Render.ChromeTrace.render(cx, withTrace)
  }
}

const report = Command.make(
  "report",
  {
    input: Argument.String("file-or-dir").pipe(
      Argument.withDescription("A counterexample JSON file, or a directory of them (e.g. report/)")
    ),
    format: Flag.Literals("format", formats).pipe(
      Flag.withDescription("text, mermaid, html or chrome-trace"),
      Flag.withDefault("text" as Format)
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("Output file (for one file; default: stdout for text/mermaid, <file>.html / <file>.trace.json otherwise)"),
      Flag.optional
    ),
    model: modelOverride
  },
  Effect.fn("report")(function* (a) {
    const fs = yield* FileSystem.FileSystem
    const stat = Option.getOrUndefined(yield* Effect.option(fs.stat(a.input)))
    if (stat === undefined) return yield* new InputError({ message: `cannot read ${a.input}: no such file or directory` })
    const model = optionalToUndefined(a.model)
    const needsState = a.format === "html" || a.format === "mermaid"
    if (stat.type === "Directory") {
      const candidates = (yield* Effect.mapError(
        fs.readDirectory(a.input),
        (e) => new InputError({ message: `cannot read ${a.input}: ${e.message}` })
      ))
        .filter((f) => f.endsWith(".json") && f !== "matrix.json" && !f.endsWith(".trace.json"))
        .sort()
      const files = yield* Effect.filter(candidates, (f) => isCounterexampleFile(path.join(a.input, f)))
      let written = 0
      for (const f of files) {
        const file = path.join(a.input, f)
        const loaded = yield* Files.loadCounterexample(file)
        const trace = needsState ? yield* stateTrace(model, loaded, file) : undefined
        const target = file.replace(/\.json$/, extensionOf[a.format])
        const text = renderAs(a.format, loaded.counterexample, trace, `pnpm drvmodel replay ${file}`)
        yield* Files.write(target, a.format === "mermaid" ? `\`\`\`mermaid\n${text}\`\`\`\n` : text)
        yield* Console.log(`wrote ${target}`)
        written++
      }
      if (written === 0) return yield* new InputError({ message: `${a.input} holds no counterexample JSON files` })
      return yield* setExitCode(0)
    }
    const loaded = yield* Files.loadCounterexample(a.input)
    const trace = needsState ? yield* stateTrace(model, loaded, a.input) : undefined
    const text = renderAs(a.format, loaded.counterexample, trace, `pnpm drvmodel replay ${a.input}`)
    const out =
      optionalToUndefined(a.out) ??
      (a.format === "html" || a.format === "chrome-trace" ? a.input.replace(/\.json$/, "") + extensionOf[a.format] : undefined)
    if (out === undefined || out === "-") yield* Effect.sync(() => process.stdout.write(text))
    else {
      yield* Files.write(out, text)
      yield* Console.log(`wrote ${out}`)
    }
    return yield* setExitCode(0)
  })
).pipe(
  Command.withDescription(
    "Render counterexamples: lockdep-style text, Mermaid sequence diagram, self-contained HTML, Chrome trace (Perfetto)"
  ),
  Command.withExamples([
    { command: "drvmodel report report/abba--buggy--deadlock.json", description: "The lockdep-style text" },
    { command: "drvmodel report report/abba--buggy--deadlock.json --format html", description: "Write report/abba--buggy--deadlock.html" },
    { command: "drvmodel report report --format chrome-trace", description: "A Perfetto trace for every finding in report/" }
  ])
)

// -----------------------------------------------------------------------------
// list

const list = Command.make(
  "list",
  { model: modelFlag },
  Effect.fn("list")(function* (a) {
    const model = yield* tryInput(() => Models.get(a.model))
    yield* Console.log(`${style.bold(`model ${model.name}`)}: ${model.description}\n`)
    yield* Console.log(style.bold("variants:"))
    const vw = Math.max(0, ...model.variants.map((v) => v.name.length))
    for (const v of model.variants) yield* Console.log(`  ${v.name.padEnd(vw)}  ${v.description}`)
    const flags = model.variantFlags ?? []
    if (flags.length > 0) {
      yield* Console.log(
        `\n${style.bold("variant flags")} (compose a variant: --variant <base>+<flag>[=value]…, e.g. ${model.variants.at(-1)?.name ?? "base"}+${flags.find((f) => f.values.length === 0)?.name ?? flags[0]!.name}; a boolean flag alone means =true):`
      )
      const fw = Math.max(0, ...flags.map((f) => f.name.length))
      for (const f of flags) {
        const values = f.values.length > 0 ? ` [${f.values.join("|")}]` : ""
        yield* Console.log(`  ${f.name.padEnd(fw)}  ${f.description}${style.dim(values)}`)
      }
    }
    yield* Console.log(`\n${style.bold("scenarios:")}`)
    if (model.scenarios.length === 0) yield* Console.log("  (none yet)")
    for (const s of model.scenarios) {
      const d = Object.entries(s.defaults)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(" ")
      yield* Console.log(`  ${s.name}: ${s.description}${d !== "" ? style.dim(` [${d}]`) : ""}`)
      for (const i of s.invariants) yield* Console.log(`      invariant ${i.name}: ${i.description}`)
    }
    yield* Console.log(
      `\n${style.bold("built-in checks")} (every scenario): deadlock, livelock (endless spin / no progress), defect (WARN, task died)`
    )
    return yield* setExitCode(0)
  })
).pipe(
  Command.withDescription("List a model's scenarios, variants and invariants"),
  Command.withExamples([
    { command: "drvmodel list", description: "The mlx5 model" },
    { command: "drvmodel list --model classic", description: "The classic patterns" }
  ])
)

// -----------------------------------------------------------------------------
// root and main

/**
 * The command tree.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make("drvmodel").pipe(
  Command.withDescription("Model kernel-driver concurrency designs and explore their interleavings deterministically"),
  Command.withExamples([
    { command: "drvmodel matrix", description: "The findings matrix of the mlx5 model" },
    { command: "drvmodel list --model classic", description: "What can be explored" }
  ]),
  Command.withSubcommands([explore, matrix, merge, replay, shrink, report, list])
)

const oneLine = (s: string) => s.split("\n")[0]!

/**
 * A usage error as one line: the first error effect/cli found (it names the flag or argument),
 * its suggestion if it has one, and where the full usage is. The default presenter prints the
 * whole help page with the error at the bottom.
 */
export const usageLine = (commandPath: ReadonlyArray<string>, errors: ReadonlyArray<{ readonly message: string }>): string => {
  const first = errors[0]?.message ?? "invalid invocation"
  const suggestion = /Did you mean this\?\s+(\S+)/.exec(first)?.[1]
  const what = oneLine(first).replace(/\.$/, "")
  return `drvmodel: error: ${what}${suggestion !== undefined ? `; did you mean ${suggestion}?` : ""} (see: ${commandPath.join(" ")} --help)`
}

const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(usageLine(event.commandPath, event.errors))
      : CliOutput.defaultPresenter.present(event)
}

/**
 * Runs the command on the process arguments and returns the exit code:
 * 0 clean, 1 findings, 2 bad input or usage, 3 internal error, 130
 * interrupted without a verdict. A stop request (`Interrupt.Stop`) ends an
 * exploration or a matrix between two batches of runs; `Interrupt.exitCode`
 * turns Ctrl-C (fiber interruption) into one.
 *
 * @example
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Cli } from "@drvmodel/cli"
 * import { Interrupt } from "@drvmodel/cli"
 * Interrupt.exitCode(Cli.main).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
 * ```
 * @category commands
 * @since 0.1.0
 */
export const main: Effect.Effect<number, never, Command.Environment | Interrupt.Stop> = Effect.gen(function* () {
  // Per invocation: the recorded exit code (no module state).
  const recorded = yield* Ref.make(0)
  return yield* Command.run(command, { version }).pipe(
    Effect.provideService(CliOutput.Presenter, presenter),
    Effect.provideService(RecordedExitCode, recorded),
    Effect.andThen(Ref.get(recorded)),
    Effect.catchCause((cause) =>
      Effect.gen(function* () {
        const error = Cause.squash(cause)
        if (error instanceof InputError) {
          yield* Console.error(`drvmodel: error: ${error.message}`)
          return 2
        }
        if (CliError.isCliError(error)) {
          // Usage errors: the presenter already printed the one line (or the help page, for a bare `drvmodel`).
          return 2
        }
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        yield* Console.error(`drvmodel: internal error: ${oneLine(message)}`)
        return 3
      })
    )
  )
})
