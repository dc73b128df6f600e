/**
 * A test file's own world: a fresh database copied from the migrated template, a Redis prefix of
 * its own (deleted afterwards), and deps built from a test configuration (no vi.mock).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { loadConfig, type Config } from "../../src/config.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { createLogger } from "../../src/logger.js";
import { createQueues, type Queues } from "../../src/jobs/queues.js";
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";
import { databaseUrl, templateDatabase, testRedisUrl, withAdminClient } from "./services.js";

export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `trs_sync_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdminClient((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${templateDatabase()}`));
      break;
    } catch (error) {
      // "source database is being accessed by other users": another file is copying it right now
      if ((error as { code?: string }).code !== "55006" || attempt > 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
  return {
    url: databaseUrl(name),
    drop: () => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/unused",
    REDIS_URL: testRedisUrl,
    TRS_API_BASE_URL: "http://trs.test",
    TRS_API_KEY: "test-key",
    DQT_API_BASE_URL: "http://dqt.test",
    DQT_API_KEY: "test-key",
    API_TOKENS: "test-token",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    UPDATE_DEBOUNCE: "0ms",
    // two test runs side by side stay well under Postgres's 100 connections
    WORKER_CONCURRENCY: "4",
    DATABASE_POOL_SIZE: "6",
    TRN_POLL_FIRST_DELAY: "1m",
    PUBLIC_BASE_URL: "http://trs-sync.test",
    ...env,
  });
}

export interface TestWorld {
  config: Config;
  deps: Deps;
  queues: Queues;
  /** closes everything and drops the database and the Redis keys */
  cleanup(): Promise<void>;
}

export async function createTestWorld(
  options: {
    env?: Record<string, string>;
    now?: () => Date;
    api?: TeacherRecordsClient;
    /** a migrated database of the test's own (a private Postgres) instead of a copy of the template */
    database?: { url: string; drop(): Promise<void> };
  } = {},
): Promise<TestWorld> {
  const db = options.database ?? (await createTestDatabase());
  // a test of its own Redis (a cluster needs a hash-tagged prefix) may choose it
  const prefix = options.env?.REDIS_PREFIX ?? `test-${randomUUID().slice(0, 8)}`;
  const config = testConfig({ ...options.env, DATABASE_URL: db.url, REDIS_PREFIX: prefix });
  const deps = createDeps(config, {
    logger: createLogger({ level: config.logLevel }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.api ? { api: options.api } : {}),
  });
  const queues = createQueues(deps.redis, prefix);
  return {
    config,
    deps,
    queues,
    async cleanup() {
      await queues.close();
      await deleteRedisPrefix(config.redisUrl, prefix);
      await deps.close();
      await db.drop();
    },
  };
}

export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}

/** Waits until `check` returns a truthy value; polls Postgres state, never a fixed sleep. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${options.what ?? "condition"}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
