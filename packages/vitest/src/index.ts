/**
 * Vitest helpers for drvmodel, in the manner of @fast-check/vitest: a test
 * that explores a scenario and fails with the counterexample, shrunk and
 * rendered, plus the line that replays it.
 *
 * - `it.explore(name, scenario, options)`: a test that explores `scenario`
 *   (explorer options over the scenario's defaults) and expects it clean; with
 *   `exhaustive: true` a bounded DFS must also have covered its whole space;
 *   with `replay: file` it replays that saved counterexample instead (leniently:
 *   followed where it still fits the model) and passes once it no longer fails.
 * - `expectClean(report, { scenario })`: the same verdict on a report you
 *   explored yourself.
 *
 * A failure writes the shrunk counterexample as JSON (default directory
 * `.drvmodel/`) and names it in the replay line, because schedules are too
 * long to paste. `drvmodel report <file>` renders it again, in any format.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type Counterexample, Explorer, Render, type Report, type Scenario, Shrink } from "@drvmodel/core"
import { Effect, Schema } from "effect"
import { it as vitestIt } from "vitest"

/**
 * Options of `it.explore`: explorer options (over the scenario's defaults)
 * plus what the verdict needs.
 *
 * @example
 * ```ts
 * import type { ExploreTestOptions } from "@drvmodel/vitest"
 * const o: ExploreTestOptions = { strategy: "dfs", preemptions: 2, exhaustive: true }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface ExploreTestOptions extends Partial<Explorer.ExploreOptions> {
  /** A bounded DFS must also have explored its whole space (`Bounded`, exhausted, nothing truncated). */
  readonly exhaustive?: boolean
  /** Replay this saved counterexample (a JSON file) instead of exploring: the test passes once it no longer fails. */
  readonly replay?: string
  /** Shrinking budget and options (default: 600 replays). */
  readonly shrink?: Shrink.ShrinkOptions
  /** Where a failure writes its counterexample (default `.drvmodel` under the working directory). */
  readonly counterexampleDir?: string
  /** Test timeout in milliseconds. */
  readonly timeout?: number
}

/**
 * Options of `expectClean`.
 *
 * @example
 * ```ts
 * import type { ExpectCleanOptions } from "@drvmodel/vitest"
 * const o: ExpectCleanOptions = { exhaustive: true }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface ExpectCleanOptions {
  /** The explored scenario: the counterexample is shrunk on it (without, it is shown as found). */
  readonly scenario?: Scenario
  readonly exhaustive?: boolean
  readonly shrink?: Shrink.ShrinkOptions
  readonly counterexampleDir?: string
  /** The test's name, for the replay line. */
  readonly name?: string
}

const fileName = (cx: Counterexample) =>
  `${[cx.scenario, cx.variant, cx.kind].filter((p) => p !== undefined).join("--")}.json`.replace(/[^\w.@-]+/g, "_")

const save = (cx: Counterexample, dir: string): string => {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, fileName(cx))
  fs.writeFileSync(file, `${JSON.stringify(Schema.encodeSync(Explorer.Counterexample)(cx), null, 2)}\n`)
  return file
}

const shrinkLine = (cx: Counterexample): string =>
  cx.original === undefined
    ? "not shrunk"
    : `shrunk to ${cx.preemptions} preemption(s), ${cx.steps} steps, from ${cx.original.preemptions} preemption(s), ${cx.original.steps} steps ` +
      "(fewest preemptions first, then fewest steps: a shallower schedule may be longer)"

/** The failure message: summary, shrink line, the rendered interleaving, the replay line. */
const failure = (report: Report, cx: Counterexample, replay: string): string =>
  [
    `drvmodel: ${report.scenario} is not clean: ${report.counterexamples.length} finding(s) in ${report.runs} run(s) (${report.strategy})`,
    `${cx.finding.summary}`,
    shrinkLine(cx),
    "",
    Render.Text.render(cx, { replayCommand: replay })
  ].join("\n")

const verdict = (report: Report, o: ExpectCleanOptions & { readonly replayFor?: (file: string) => string }): void => {
  const first = report.counterexamples[0]
  if (first !== undefined) {
    const cx =
      o.scenario !== undefined
        ? Effect.runSync(
            Effect.map(
              Shrink.counterexample(o.scenario, first, {
                maxSteps: report.options.maxSteps,
                livelockBound: report.options.livelockBound,
                ...o.shrink
              }),
              (s) => s.counterexample
            ).pipe(Effect.orElseSucceed(() => first))
          )
        : first
    const file = save(cx, o.counterexampleDir ?? ".drvmodel")
    const replay =
      o.replayFor?.(file) ?? `it.explore(${JSON.stringify(o.name ?? report.scenario)}, scenario, { replay: ${JSON.stringify(file)} })`
    throw new Error(failure(report, cx, replay))
  }
  if (o.exhaustive) {
    const c = report.coverage
    if (!(c._tag === "Bounded" && c.exhausted && c.truncatedRuns === 0)) {
      throw new Error(
        `drvmodel: ${report.scenario}: clean but not exhaustive (${report.strategy}, ${report.runs} runs, stopped: ${report.stopped}, coverage ${JSON.stringify(c)})`
      )
    }
  }
}

/**
 * Fails (throws) when `report` has a finding, with the first one shrunk on
 * `options.scenario`, rendered, saved as JSON and named in a replay line;
 * with `exhaustive`, also when a bounded search did not cover its space.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { expectClean } from "@drvmodel/vitest"
 * const abba = classic.scenario("abba", "fixed")
 * const report = await Effect.runPromise(Explorer.explore(abba, Explorer.options({ strategy: "dfs" })))
 * expectClean(report, { scenario: abba, exhaustive: true })
 * ```
 * @category assertions
 * @since 0.1.0
 */
export const expectClean = (report: Report, options: ExpectCleanOptions = {}): void => verdict(report, options)

const exploreTest = (name: string, scenario: Scenario, options: ExploreTestOptions = {}): void => {
  const { exhaustive, replay, shrink, counterexampleDir, timeout, ...explorer } = options
  const common = {
    name,
    scenario,
    ...(exhaustive !== undefined ? { exhaustive } : {}),
    ...(shrink !== undefined ? { shrink } : {}),
    ...(counterexampleDir !== undefined ? { counterexampleDir } : {})
  }
  vitestIt(
    name,
    async () => {
      const o = Explorer.options({ ...scenario.defaults, ...explorer })
      if (replay === undefined) {
        verdict(await Effect.runPromise(Explorer.explore(scenario, o)), common)
        return
      }
      const saved = Schema.decodeUnknownSync(Explorer.Counterexample)(JSON.parse(fs.readFileSync(replay, "utf8")))
      // Lenient: after a fix the saved schedule may no longer fit step by step; the question is
      // whether the interleaving, followed where it still can be, still breaks the model.
      const run = await Effect.runPromise(
        Explorer.replay(scenario, saved.schedule, { lenient: true, maxSteps: o.maxSteps, livelockBound: o.livelockBound })
      )
      if (run.outcome._tag !== "Found") return
      const again: Counterexample = {
        ...saved,
        finding: run.outcome.finding,
        steps: run.steps,
        preemptions: run.preemptions,
        schedule: run.schedule,
        trace: run.trace
      }
      const report: Report = {
        scenario: scenario.name,
        strategy: "replay",
        options: o,
        runs: 1,
        steps: run.steps,
        stepLimitHits: 0,
        maxTasks: run.tasks,
        maxStepsPerRun: run.steps,
        elapsedMs: 0,
        stopped: "found",
        coverage: { _tag: "Sampled" },
        counterexamples: [again]
      }
      verdict(report, {
        ...common,
        replayFor: () => `it.explore(${JSON.stringify(name)}, scenario, { replay: ${JSON.stringify(replay)} })`
      })
    },
    timeout
  )
}

/**
 * Vitest's `it`, with `it.explore(name, scenario, options)`: a test that
 * explores the scenario and expects it clean (see `expectClean`).
 *
 * @example
 * ```ts
 * import { it } from "@drvmodel/vitest"
 * import { classic } from "@drvmodel/examples"
 * it.explore("ABBA with one lock order is deadlock-free", classic.scenario("abba", "fixed"), {
 *   strategy: "dfs",
 *   preemptions: 2,
 *   exhaustive: true
 * })
 * ```
 * @category tests
 * @since 0.1.0
 */
export const it: typeof vitestIt & { readonly explore: typeof exploreTest } = new Proxy(vitestIt, {
  get: (target, key, receiver) => (key === "explore" ? exploreTest : Reflect.get(target, key, receiver))
}) as typeof vitestIt & { readonly explore: typeof exploreTest }
