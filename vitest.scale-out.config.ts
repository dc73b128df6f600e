import { defineConfig } from "vitest/config";

/** `npm run test:scale-out`: the Redis Cluster run, apart from `npm test` (it starts its own cluster). */
export default defineConfig({
  test: {
    include: ["test/scale-out/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/per-file.ts"],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 1,
    env: { LOG_LEVEL: "silent" },
  },
});
