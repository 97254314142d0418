/**
 * How output looks: a terminal gets colour and a progress bar; a pipe, CI
 * (`CI=true`) or `NO_COLOR` get plain lines.
 *
 * @since 0.1.0
 */

/**
 * Output style.
 *
 * @category models
 * @since 0.1.0
 */
export interface Style {
  /** Interactive terminal: colour and a live progress bar (on stderr). */
  readonly tty: boolean
  readonly bold: (s: string) => string
  readonly dim: (s: string) => string
  readonly red: (s: string) => string
  readonly green: (s: string) => string
  readonly yellow: (s: string) => string
}

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s)

/**
 * The style for this process.
 *
 * @example
 * ```ts
 * import { Style } from "@drvmodel/cli"
 * const style = Style.detect()
 * console.log(style.red("deadlock"))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const detect = (env: NodeJS.ProcessEnv = process.env): Style => {
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0"
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== ""
  const tty = process.stdout.isTTY === true && process.stderr.isTTY === true && !ci && !noColor && env.TERM !== "dumb"
  return {
    tty,
    bold: wrap(tty, 1, 22),
    dim: wrap(tty, 2, 22),
    red: wrap(tty, 31, 39),
    green: wrap(tty, 32, 39),
    yellow: wrap(tty, 33, 39)
  }
}
