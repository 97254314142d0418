/**
 * Renderings of a counterexample: lockdep-style text, Mermaid sequence
 * diagram, self-contained HTML, Chrome trace-event JSON.
 *
 * @since 0.1.0
 */

export * as ChromeTrace from "./ChromeTrace.ts"
export * as Html from "./Html.ts"
export * as Mermaid from "./Mermaid.ts"
export * as Text from "./Text.ts"
export * as Timeline from "./Timeline.ts"
