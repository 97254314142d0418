/**
 * The packages as someone else installs them: build (tsc to dist/), `pnpm pack`
 * each package, install the tarballs offline into a fresh project outside the
 * workspace, then run a small model written there in plain JavaScript, check
 * its TypeScript against the shipped .d.ts, and run the `drvmodel` binary.
 *
 * Offline on purpose: the tarballs' own dependencies (effect,
 * @effect/platform-node) come from the warm pnpm store; nothing downloads.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
// vitest runs on the Node 22 from node_modules/.bin; the installed bin must find the same `node`.
const nodeDir = path.dirname(process.execPath)
const env = { ...process.env, PATH: `${nodeDir}${path.delimiter}${process.env.PATH ?? ""}`, NO_COLOR: "1", CI: "true" }
const packages = { core: "packages/core", mlx5: "packages/mlx5", examples: "examples", cli: "packages/cli" } as const
const pnpm = (cwd: string, ...args: Array<string>) =>
  execFileSync("npx", ["-y", "pnpm@12.21.0", ...args], { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

/** The consumer's model: ABBA, in plain JavaScript, against the published entry points only. */
const modelJs = `
import { Effect } from "effect"
import { Explorer, Kernel, Mutex } from "@drvmodel/core"

const abba = {
  name: "abba",
  description: "two threads take A and B in opposite orders",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const a = yield* Mutex.make("A")
    const b = yield* Mutex.make("B")
    const both = (x, y) => Effect.gen(function* () { yield* x.lock; yield* y.lock; yield* y.unlock; yield* x.unlock })
    yield* kernel.spawn("thread-1", both(a, b))
    yield* kernel.spawn("thread-2", both(b, a))
  })
}
const report = await Effect.runPromise(Explorer.explore(abba, Explorer.options({ strategy: "dfs", preemptions: 2 })))
console.log(report.counterexamples[0]?.finding.summary ?? "clean")
`

/** The same kind of model in TypeScript, type-checked against the shipped declarations. */
const modelTs = `
import { Effect } from "effect"
import { Explorer, Kernel, Mutex, type Scenario, Workqueue } from "@drvmodel/core"
import { model } from "@drvmodel/mlx5"
import { classic } from "@drvmodel/examples"

export const removeUnderLock: Scenario = {
  name: "remove-under-lock",
  description: "remove() flushes the workqueue while holding dev->lock",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const lock = yield* Mutex.make("dev->lock")
    const wq = yield* Workqueue.make("dev->wq")
    yield* wq.queueWork(Workqueue.work("dev_work_fn", Effect.andThen(lock.lock, lock.unlock)))
    yield* kernel.spawn("rmmod", Effect.andThen(lock.lock, Effect.andThen(wq.flush, lock.unlock)))
  })
}
export const report: Effect.Effect<Explorer.Report, Explorer.Nondeterminism> = Explorer.explore(removeUnderLock, Explorer.options({}))
export const names: ReadonlyArray<string> = [model.name, classic.name]
`

describe("the packed packages", () => {
  it.effect(
    "install into a fresh project outside the workspace and run a model and the CLI from there",
    () =>
      Effect.sync(() => {
        const tsc = path.join(root, "node_modules/typescript/bin/tsc")
        execFileSync(process.execPath, [tsc, "-b", "packages/cli/tsconfig.build.json"], { cwd: root, env, stdio: "pipe" })
        const project = fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-consumer-"))
        assert.notInclude(project, root, "the consumer project is outside the workspace")
        const tarballs = path.join(project, "tarballs")
        const deps: Record<string, string> = {}
        for (const [name, dir] of Object.entries(packages)) {
          const out = pnpm(path.join(root, dir), "pack", "--pack-destination", tarballs)
          const tgz = fs.readdirSync(tarballs).find((f) => f.startsWith(`drvmodel-${name}-`))
          assert.isDefined(tgz, out)
          deps[`@drvmodel/${name}`] = `file:${path.join(tarballs, tgz!)}`
        }
        // The tarballs name each other by version (workspace:* becomes 0.1.0): point those at the files.
        fs.writeFileSync(
          path.join(project, "package.json"),
          JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { ...deps, effect: "4.1.0" } }, null, 2)
        )
        fs.writeFileSync(
          path.join(project, "pnpm-workspace.yaml"),
          `overrides:\n${Object.entries(deps)
            .map(([n, v]) => `  "${n}": "${v}"`)
            .join("\n")}\n`
        )
        pnpm(project, "install", "--offline")

        // Only dist/ is reachable: the manifest's exports point there, not at TypeScript sources.
        const manifest = JSON.parse(fs.readFileSync(path.join(project, "node_modules/@drvmodel/core/package.json"), "utf8"))
        assert.deepStrictEqual(manifest.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" })

        fs.writeFileSync(path.join(project, "model.mjs"), modelJs)
        const ran = spawnSync(process.execPath, ["model.mjs"], { cwd: project, env, encoding: "utf8" })
        assert.strictEqual(ran.status, 0, ran.stderr)
        assert.match(ran.stdout, /^deadlock: /)

        fs.writeFileSync(path.join(project, "model.ts"), modelTs)
        fs.writeFileSync(
          path.join(project, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2023", noEmit: true, types: [] },
            files: ["model.ts"]
          })
        )
        const checked = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project, env, encoding: "utf8" })
        assert.strictEqual(checked.status, 0, checked.stdout + checked.stderr)

        const bin = path.join(project, "node_modules/.bin/drvmodel")
        const help = spawnSync(bin, ["--help"], { cwd: project, env, encoding: "utf8" })
        assert.strictEqual(help.status, 0, help.stderr)
        assert.include(help.stdout, "matrix")
        const explore = spawnSync(bin, ["explore", "abba", "--model", "classic"], { cwd: project, env, encoding: "utf8" })
        assert.strictEqual(explore.status, 1, explore.stderr)
        assert.include(explore.stdout, "deadlock")
        // The matrix runs its cells in worker threads: the workers load from dist/ too.
        const out = path.join(project, "report")
        const matrix = spawnSync(bin, ["matrix", "--model", "classic", "--jobs", "2", "--out", out], {
          cwd: project,
          env,
          encoding: "utf8"
        })
        assert.strictEqual(matrix.status, 1, matrix.stderr)
        assert.include(fs.readFileSync(path.join(out, "README.md"), "utf8"), "| scenario | buggy | fixed |")
        fs.rmSync(project, { recursive: true, force: true })
      }),
    180_000
  )
})
