/**
 * Runs every classic example: explores each buggy scenario until its first
 * finding and each fixed one exhaustively (bounded DFS), and prints the
 * verdicts. Exit code 1 if a verdict is not the known answer.
 *
 * Run: npx pnpm@12.21.0 examples
 */
import { patterns } from "./classic/model.ts"
import { printVerdicts } from "./classic/pattern.ts"

process.exitCode = printVerdicts(patterns) ? 0 : 1
