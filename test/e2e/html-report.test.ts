/**
 * The HTML report as a person reads it: explore a deadlock with the command,
 * render its HTML report, open it from disk in headless Chromium, and check
 * that the lanes, the cycle and the highlighted step are visible and that
 * moving the step slider changes the state shown. Saves a screenshot to
 * test-results/html-report.png.
 *
 * Uses the mlx5 baseline teardown deadlock once the model has it, the
 * classic ABBA deadlock until then. Needs Debian's chromium
 * (scripts/ensure-browser.ts installs it); under CI=true a missing browser
 * is a failure, elsewhere the test is skipped with the reason printed.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { model as mlx5 } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { chromium } from "playwright-core"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(root, "node_modules/.bin/node")
const browserPath = "/usr/bin/chromium"
const hasBrowser = fs.existsSync(browserPath)
const ci = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false" && process.env.CI !== "0"

const target = mlx5.scenarios.some((s) => s.name === "teardown-with-pending-work")
  ? { model: "mlx5", scenario: "teardown-with-pending-work", variant: "baseline" }
  : { model: "classic", scenario: "abba", variant: "buggy" }

const cli = (...args: Array<string>) => {
  const r = spawnSync(node, ["packages/cli/src/bin.ts", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

if (!hasBrowser && !ci) {
  console.log(`html-report e2e skipped: ${browserPath} is missing (run: node scripts/ensure-browser.ts, as root on Debian)`)
}

describe("HTML report in a browser", () => {
  it.skipIf(!hasBrowser && !ci)(
    `shows lanes, the cycle, the failing step and a working slider (${target.model} ${target.scenario})`,
    async () => {
      assert.isTrue(hasBrowser, `CI=true and no browser at ${browserPath}: scripts/ensure-browser.ts could not install chromium`)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-e2e-"))
      const explored = cli(
        "explore",
        target.scenario,
        "--model",
        target.model,
        "--variant",
        target.variant,
        "--stop-on-first",
        "--out",
        dir
      )
      assert.strictEqual(explored.code, 1, `expected a finding: ${explored.out}\n${explored.err}`)
      const file = fs.readdirSync(dir).find((f) => f.includes("--deadlock"))
      assert.isDefined(file, `no deadlock counterexample in ${fs.readdirSync(dir).join(", ")}`)
      const html = path.join(dir, file!.replace(/\.json$/, ".html"))
      const rendered = cli("report", path.join(dir, file!), "--format", "html", "--out", html)
      assert.strictEqual(rendered.code, 0, rendered.err)

      const profile = fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-chromium-"))
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: browserPath,
        viewport: { width: 1400, height: 900 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
      try {
        const page = await context.newPage()
        const requests: Array<string> = []
        page.on("request", (r) => {
          if (!r.url().startsWith("file:")) requests.push(r.url())
        })
        const errors: Array<string> = []
        page.on("pageerror", (e) => errors.push(e.message))
        await page.goto(`file://${html}`)

        const lanes = page.getByTestId("lane")
        assert.isAtLeast(await lanes.count(), 2)
        for (let i = 0; i < (await lanes.count()); i++) assert.isTrue(await lanes.nth(i).isVisible(), `lane ${i} visible`)
        const cycle = page.getByTestId("cycle-explanation")
        assert.isTrue(await cycle.isVisible())
        assert.include(await cycle.innerText(), "cycle")
        assert.isTrue(await page.getByTestId("failing-step").isVisible())
        assert.isAtLeast(await page.getByTestId("wait-edge").count(), 1)

        // With the failing step in view, every lane title must be on screen,
        // unclipped by the timeline pane and not covered by the rows, and the
        // pane must need no horizontal scrolling. Checked as the report opens
        // (it scrolls its pane to the failing step itself) and, after the
        // screenshot, once a reader has scrolled the pane back to the top and
        // then down to the failing step.
        assert.strictEqual(await page.getByTestId("lane-title").count(), await lanes.count())
        const checkLayout = async (when: string) => {
          const layout = await page.evaluate(() => {
            const wrap = document.querySelector(".lanes-wrap")!
            const pane = wrap.getBoundingClientRect()
            const failing = document.getElementById("failing-step")!.getBoundingClientRect()
            const inside = (r: DOMRect, box: { top: number; bottom: number; left: number; right: number }) =>
              r.width > 0 &&
              r.height > 0 &&
              r.top >= box.top - 1 &&
              r.bottom <= box.bottom + 1 &&
              r.left >= box.left - 1 &&
              r.right <= box.right + 1
            const screen = { top: 0, left: 0, bottom: window.innerHeight, right: window.innerWidth }
            const titles = [...document.querySelectorAll<HTMLElement>("[data-testid=lane-title]")].map((el) => {
              const r = el.getBoundingClientRect()
              const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)
              return { task: el.dataset.task ?? "", visible: inside(r, screen) && inside(r, pane) && hit !== null && el.contains(hit) }
            })
            return {
              scrolled: wrap.scrollTop,
              failingOnScreen: inside(failing, screen) && inside(failing, pane),
              titles,
              scrollWidth: wrap.scrollWidth,
              clientWidth: wrap.clientWidth
            }
          })
          // Only a pane scrolled away from its top tests the sticky header.
          assert.isAbove(layout.scrolled, 0, `${when}: the failing step lies below the pane's first screenful`)
          assert.isTrue(layout.failingOnScreen, `${when}: the failing step is on screen`)
          for (const title of layout.titles) assert.isTrue(title.visible, `${when}: lane title ${title.task} visible at the failing step`)
          assert.isAtMost(layout.scrollWidth, layout.clientWidth + 1, `${when}: the timeline needs no horizontal scrolling`)
        }
        await checkLayout("on opening")

        const state = page.getByTestId("state-panel")
        const label = page.getByTestId("step-label")
        const stateAtFailure = await state.innerText()
        const labelAtFailure = await label.innerText()
        const slider = page.getByTestId("step-slider")
        await slider.focus()
        await page.keyboard.press("Home")
        assert.strictEqual(await slider.inputValue(), "0")
        assert.notStrictEqual(await label.innerText(), labelAtFailure)
        await page.keyboard.press("End")
        assert.strictEqual(await state.innerText(), stateAtFailure)
        // Halfway, the state differs from the end state (locks not all taken yet).
        const max = Number(await slider.getAttribute("max"))
        await slider.fill(String(Math.floor(max / 2)))
        assert.notStrictEqual(await state.innerText(), stateAtFailure)
        await page.keyboard.press("End")

        fs.mkdirSync(path.join(root, "test-results"), { recursive: true })
        await page.screenshot({ path: path.join(root, "test-results/html-report.png"), fullPage: true })
        await page.evaluate(() => {
          document.querySelector(".lanes-wrap")!.scrollTop = 0
          window.scrollTo(0, 0)
          document.getElementById("failing-step")!.scrollIntoView({ block: "nearest" })
        })
        await checkLayout("after scrolling to the failing step")
        assert.deepStrictEqual(requests, [], "the report loads nothing from the network")
        assert.deepStrictEqual(errors, [])
      } finally {
        await context.close()
      }
    }
  )
})
