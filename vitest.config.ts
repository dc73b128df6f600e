import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the Redis Cluster run and the fault suite have commands of their own (npm run test:scale-out, test:faults)
    exclude: [...configDefaults.exclude, "test/scale-out/**", "test/faults/**"],
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
