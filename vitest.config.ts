import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The summary reporter prints `Summary: N passed, N failed` as the very last line (CI reads it).
    reporters: ["default", "./test/support/summary-reporter.ts"]
  }
})
