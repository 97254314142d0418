/**
 * drvmodel examples.
 *
 * @since 0.1.0
 */
export { classic } from "./classic/model.ts"
