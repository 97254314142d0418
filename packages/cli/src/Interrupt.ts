/**
 * Ctrl-C: the first SIGINT asks the running exploration to stop at the next
 * batch boundary, so what was found so far is still shrunk, printed and
 * written; a second one exits at once (code 130).
 *
 * @since 0.1.0
 */

let requested = false
let installed = false

/**
 * Installs the SIGINT/SIGTERM listener (idempotent).
 *
 * @example
 * ```ts
 * import { Interrupt } from "@drvmodel/cli"
 * Interrupt.install()
 * ```
 * @category lifecycle
 * @since 0.1.0
 */
export const install = (): void => {
  if (installed) return
  installed = true
  const onSignal = () => {
    if (requested) process.exit(130)
    requested = true
    process.stderr.write("\ninterrupted: stopping after the current batch (Ctrl-C again to quit now)\n")
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
}

/**
 * Whether a stop was requested.
 *
 * @category getters
 * @since 0.1.0
 */
export const requestedStop = (): boolean => requested
