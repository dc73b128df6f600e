import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const base = { TRS_API_BASE_URL: "https://trs.example", TRS_API_KEY: "k" };

describe("configuration", () => {
  it("uses the documented defaults", () => {
    const config = loadConfig(base);
    expect(config.databaseUrl).toBe("postgresql://postgres@127.0.0.1:5432/trs_sync");
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.api).toMatchObject({ kind: "trs", version: "20250627", ratePerMinute: 900 });
    expect(config.trnPoll).toEqual({
      firstDelayMs: 60_000,
      maxIntervalMs: 3_600_000,
      timeoutMs: 4 * 86_400_000,
      octoberTimeoutMs: 10 * 86_400_000,
    });
    expect(config.publicBaseUrl).toBe("http://localhost:3000");
    expect(config.databasePoolSize).toBe(20);
  });

  it("refuses a Postgres pool too small for the worker's jobs", () => {
    expect(loadConfig({ ...base, WORKER_CONCURRENCY: "4", DATABASE_POOL_SIZE: "6" }).databasePoolSize).toBe(6);
    expect(() => loadConfig({ ...base, WORKER_CONCURRENCY: "10", DATABASE_POOL_SIZE: "8" })).toThrow(
      /DATABASE_POOL_SIZE must be at least WORKER_CONCURRENCY \+ 2 \(12\)/,
    );
  });

  it("names every bad or missing variable, one line each", () => {
    try {
      loadConfig({ TRN_POLL_TIMEOUT: "4 days", API_RATE_LIMIT_PER_MINUTE: "lots", TEACHER_RECORDS_API: "dqt" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.some((p) => p.startsWith("TRN_POLL_TIMEOUT"))).toBe(true);
      expect(problems.some((p) => p.startsWith("API_RATE_LIMIT_PER_MINUTE"))).toBe(true);
      expect(problems.some((p) => p.startsWith("DQT_API_BASE_URL"))).toBe(true);
      expect(problems.some((p) => p.startsWith("DQT_API_KEY"))).toBe(true);
      expect(problems.every((p) => !p.includes("\n"))).toBe(true);
    }
  });

  it("parses durations and dashboard users", () => {
    const config = loadConfig({ ...base, TRN_POLL_FIRST_DELAY: "90s", DASHBOARD_USERS: "ann:support:$scrypt$x, bob:viewer:h" });
    expect(config.trnPoll.firstDelayMs).toBe(90_000);
    expect(config.dashboardUsers).toEqual([
      { name: "ann", role: "support", passwordHash: "$scrypt$x" },
      { name: "bob", role: "viewer", passwordHash: "h" },
    ]);
    expect(() => loadConfig({ ...base, DASHBOARD_USERS: "ann:admin:x" })).toThrow(/DASHBOARD_USERS/);
  });
});
