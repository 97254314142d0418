/**
 * Running the command as a person does: a subprocess, checked by exit code and output.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
// vitest runs on the Node 22 from node_modules/.bin (it strips TS types natively).
export const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(root, "node_modules/.bin/node")
const env = { ...process.env, NO_COLOR: "1", CI: "true" }

export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly out: string
  readonly err: string
}

/** Runs `drvmodel args…` to the end. */
export const run = (...args: Array<string>): Ran => {
  const r = spawnSync(node, ["packages/cli/src/bin.ts", ...args], { cwd: root, encoding: "utf8", env })
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr }
}

/** Runs `drvmodel args…` asynchronously. */
export const runAsync = (...args: Array<string>): Promise<Ran> => start(...args).done

/** Runs many invocations, a few at a time (each is mostly Node's start-up), in order of `list`. */
export const runMany = async (list: ReadonlyArray<ReadonlyArray<string>>, concurrency = 4): Promise<Array<Ran>> => {
  const results: Array<Ran> = new Array(list.length)
  let next = 0
  const worker = async () => {
    while (next < list.length) {
      const i = next++
      results[i] = await runAsync(...list[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker))
  return results
}

/** Starts `drvmodel args…`; `signal` sends a signal, `done` resolves when it exits. */
export const start = (...args: Array<string>) => {
  const child = spawn(node, ["packages/cli/src/bin.ts", ...args], { cwd: root, env })
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString()
  })
  const done = new Promise<Ran>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, out, err })))
  return { child, done, stderr: () => err, stdout: () => out }
}

export const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-cli-"))

/** A bad-input failure: exit 2, one line on stderr naming the problem, nothing else, no stack trace. */
export const assertBadInput = (r: Ran, mentions: ReadonlyArray<string | RegExp>, label = ""): void => {
  const all = `${label}\n${r.out}\n${r.err}`
  assert.strictEqual(r.code, 2, all)
  const lines = r.err.trim().split("\n")
  assert.strictEqual(lines.length, 1, all)
  assert.strictEqual(r.out, "", `nothing on stdout: ${all}`)
  assert.match(lines[0]!, /^drvmodel: error: /, all)
  for (const m of mentions) {
    if (typeof m === "string") assert.include(lines[0]!, m, all)
    else assert.match(lines[0]!, m, all)
  }
  assert.notMatch(r.err + r.out, /^\s+at .+:\d+:\d+/m, `no stack trace: ${all}`)
}
