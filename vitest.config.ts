import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/per-file.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // Real Postgres and Redis are shared: each file gets its own database and Redis prefix.
    sequence: { concurrent: false },
    env: { LOG_LEVEL: "silent" },
  },
});
