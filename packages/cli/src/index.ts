/**
 * The `drvmodel` command as a library: the command tree, the matrix runner,
 * batched exploration, coverage descriptions and file handling.
 *
 * @since 0.1.0
 */

export * as Cli from "./Cli.ts"
export * as Coverage from "./Coverage.ts"
export * as Exploration from "./Exploration.ts"
export * as Files from "./Files.ts"
export { asInputError, InputError, tryInput } from "./InputError.ts"
export * as Interrupt from "./Interrupt.ts"
export * as Lenient from "./Lenient.ts"
export * as LockOrderCell from "./LockOrderCell.ts"
export * as Matrix from "./Matrix.ts"
export * as Models from "./Models.ts"
export * as Partial from "./Partial.ts"
export * as Pool from "./Pool.ts"
export * as Progress from "./Progress.ts"
export * as ReportPages from "./ReportPages.ts"
export * as Shard from "./Shard.ts"
export * as Slot from "./Slot.ts"
export * as Split from "./Split.ts"
export * as Style from "./Style.ts"
export * as Worker from "./Worker.ts"
