/**
 * Makes sure the browser for the end-to-end tests exists: Debian's chromium
 * at /usr/bin/chromium. When it is absent and we are root on Debian, installs
 * it with apt-get (apt-get update first). Never downloads a browser any other
 * way (no `playwright install`). When it cannot install, it says why and exits
 * 0: the e2e test then fails under CI=true and is skipped with the reason
 * elsewhere.
 *
 * Run: node scripts/ensure-browser.ts
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

const browser = "/usr/bin/chromium"

const isDebian = (): boolean => {
  try {
    const release = fs.readFileSync("/etc/os-release", "utf8")
    return /^ID(_LIKE)?=.*\bdebian\b/m.test(release)
  } catch {
    return false
  }
}

const run = (cmd: string, args: ReadonlyArray<string>): boolean => {
  console.log(`ensure-browser: ${cmd} ${args.join(" ")}`)
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })
  return r.status === 0
}

const main = (): void => {
  if (fs.existsSync(browser)) {
    console.log(`ensure-browser: ${browser} is present`)
    return
  }
  if (process.platform !== "linux" || !isDebian()) {
    console.log(`ensure-browser: ${browser} is missing and this is not Debian: install chromium yourself to run the HTML e2e test`)
    return
  }
  if (process.getuid?.() !== 0) {
    console.log(`ensure-browser: ${browser} is missing and we are not root: run "apt-get update && apt-get install -y chromium" as root`)
    return
  }
  if (!run("apt-get", ["update"]) || !run("apt-get", ["install", "-y", "chromium"])) {
    console.log("ensure-browser: apt-get could not install chromium (see above)")
    return
  }
  console.log(
    fs.existsSync(browser) ? `ensure-browser: installed ${browser}` : `ensure-browser: chromium installed but ${browser} is still missing`
  )
}

main()
