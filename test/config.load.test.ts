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

  it("needs UPSTREAM_WEBHOOK_SECRET with UPSTREAM_WEBHOOK_URL, and reads the sender's settings", () => {
    expect(loadConfig(base).upstreamWebhooks).toBeNull();
    expect(() => loadConfig({ ...base, UPSTREAM_WEBHOOK_URL: "https://upstream.example/hooks" })).toThrow(
      /UPSTREAM_WEBHOOK_SECRET is required when UPSTREAM_WEBHOOK_URL is set/,
    );
    expect(() => loadConfig({ ...base, UPSTREAM_WEBHOOK_URL: "https://u.example", UPSTREAM_WEBHOOK_SECRET: "short" })).toThrow(
      /UPSTREAM_WEBHOOK_SECRET must be at least 16 characters/,
    );
    // a whsec_ secret is a base64 key: one that decodes to too few bytes (or none) is refused
    for (const weak of ["whsec_!!!!!!!!!!!!!!!!", "whsec_abcdefghijklmnop"]) {
      expect(() => loadConfig({ ...base, UPSTREAM_WEBHOOK_URL: "https://u.example", UPSTREAM_WEBHOOK_SECRET: weak })).toThrow(
        /a whsec_ secret must be base64 of at least 24 bytes/,
      );
    }
    const config = loadConfig({
      ...base,
      UPSTREAM_WEBHOOK_URL: "https://upstream.example/hooks",
      UPSTREAM_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      UPSTREAM_WEBHOOK_RETRY_MAX: "10m",
    });
    expect(config.upstreamWebhooks).toEqual({
      url: "https://upstream.example/hooks",
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      timeoutMs: 10_000,
      retryBaseMs: 5_000,
      retryMaxMs: 600_000,
      intervalMs: 1_000,
    });
  });

  it("TRS_WEBHOOKS=on makes polling the slower fallback (6 h by default)", () => {
    expect(loadConfig(base)).toMatchObject({ trsWebhooks: false });
    expect(loadConfig(base).trnPoll.webhooks).toBeUndefined();
    const on = loadConfig({ ...base, TRS_WEBHOOKS: "on" });
    expect(on.trsWebhooks).toBe(true);
    expect(on.trnPoll.webhooks).toEqual({ firstDelayMs: 6 * 3_600_000, maxIntervalMs: 6 * 3_600_000 });
    expect(loadConfig({ ...base, TRS_WEBHOOKS: "on", TRN_POLL_WEBHOOK_FIRST_DELAY: "2h" }).trnPoll.webhooks?.firstDelayMs).toBe(7_200_000);
    expect(() => loadConfig({ ...base, TRS_WEBHOOKS: "yes" })).toThrow(ConfigError);
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
