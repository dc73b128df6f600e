import { defineConfig } from "vitest/config";

/**
 * `npm run test:faults`: the fault suite (README, Fault suite), apart from `npm test`: hostile
 * documents, a worker killed with SIGKILL, the teacher records API down, Redis and Postgres restarted.
 */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/per-file.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
    env: { LOG_LEVEL: "silent" },
  },
});
