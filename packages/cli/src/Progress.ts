/**
 * Progress of a long exploration. On a terminal: a bar on stderr with runs
 * done, findings so far, rate and time left, redrawn at most ten times a
 * second; the time left is the budget's at the current rate, and a search may
 * end before its budget. Elsewhere: a plain line every ten seconds with runs,
 * budget and time so far (no estimate), so CI logs show life without noise.
 * Wall-clock time is used here only, never by the explorer.
 *
 * @since 0.1.0
 */
import type { Style } from "./Style.ts"

/**
 * A progress display.
 *
 * @category models
 * @since 0.1.0
 */
export interface Progress {
  readonly update: (p: { readonly runs: number; readonly findings: number }) => void
  /** Clears the bar. */
  readonly done: () => void
}

const duration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "?"
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

/**
 * A progress display for `total` runs.
 *
 * @example
 * ```ts
 * import { Progress, Style } from "@drvmodel/cli"
 * const p = Progress.make("abba/buggy", 2000, Style.detect())
 * p.update({ runs: 100, findings: 1 })
 * p.done()
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (label: string, total: number, style: Style, stream: NodeJS.WriteStream = process.stderr): Progress => {
  const started = performance.now()
  let lastDraw = 0
  let drawn = false
  // The budget is an upper bound (DFS may exhaust its space, a search may stop at a finding), so
  // the time left is labelled as the budget's, at the current rate.
  const line = (runs: number, findings: number) => {
    const elapsed = performance.now() - started
    const rate = elapsed > 0 ? (runs * 1000) / elapsed : 0
    const left = rate > 0 ? ((total - runs) * 1000) / rate : Number.POSITIVE_INFINITY
    return {
      elapsed,
      text: `${runs}/${total} runs, ${findings} finding${findings === 1 ? "" : "s"}, ${Math.round(rate)} runs/s, up to ~${duration(left)} left`,
      plain: `${runs} runs (budget ${total}), ${findings} finding${findings === 1 ? "" : "s"}, ${Math.round(rate)} runs/s, ${duration(elapsed)} so far`
    }
  }
  return {
    update: ({ runs, findings }) => {
      const now = performance.now()
      if (style.tty) {
        if (now - lastDraw < 100) return
        lastDraw = now
        const width = 24
        const filled = Math.min(width, Math.round((runs / Math.max(1, total)) * width))
        const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`
        const { text } = line(runs, findings)
        const f = findings > 0 ? style.red(text) : text
        stream.write(`\r\u001b[2K${style.bold(label)} [${bar}] ${f}`)
        drawn = true
      } else if (now - lastDraw >= 10_000 && now - started >= 10_000) {
        lastDraw = now
        stream.write(`${label}: ${line(runs, findings).plain}\n`)
      }
    },
    done: () => {
      if (drawn) stream.write("\r\u001b[2K")
      drawn = false
    }
  }
}

/**
 * One progress display over the workers of a matrix run: cells done of the
 * total, runs and findings summed over finished and running cells.
 *
 * @example
 * ```ts
 * import { Progress, Style } from "@drvmodel/cli"
 * const p = Progress.cells("matrix", 72, Style.detect())
 * p.update({ cells: 10, running: 2, runs: 5000, findings: 3 })
 * p.done()
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const cells = (
  label: string,
  total: number,
  style: Style,
  stream: NodeJS.WriteStream = process.stderr
): {
  readonly update: (p: { readonly cells: number; readonly running: number; readonly runs: number; readonly findings: number }) => void
  readonly done: () => void
} => {
  const started = performance.now()
  let lastDraw = 0
  let drawn = false
  const text = (p: { readonly cells: number; readonly running: number; readonly runs: number; readonly findings: number }) => {
    const elapsed = performance.now() - started
    // Time left from the cell rate: cells differ in cost, so this is rough until most are done.
    const left = p.cells > 0 ? (elapsed * (total - p.cells)) / p.cells : Number.POSITIVE_INFINITY
    return `${p.cells}/${total} cells (${p.running} running), ${p.runs} runs, ${p.findings} finding${p.findings === 1 ? "" : "s"}, ${duration(elapsed)} elapsed, ~${duration(left)} left`
  }
  return {
    update: (p) => {
      const now = performance.now()
      if (style.tty) {
        if (now - lastDraw < 100) return
        lastDraw = now
        const width = 24
        const filled = Math.min(width, Math.round((p.cells / Math.max(1, total)) * width))
        const t = text(p)
        stream.write(
          `\r\u001b[2K${style.bold(label)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${p.findings > 0 ? style.red(t) : t}`
        )
        drawn = true
      } else if (now - lastDraw >= 10_000 && now - started >= 10_000) {
        lastDraw = now
        stream.write(`${label}: ${text(p)}\n`)
      }
    },
    done: () => {
      if (drawn) stream.write("\r\u001b[2K")
      drawn = false
    }
  }
}
