/** Where the tests find Postgres and Redis, and how to start them when they are down. */
import pg from "pg";
import { Redis } from "ioredis";
import { inject } from "vitest";

export const testPostgresUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** Each test run migrates a template database of its own, named this plus the run's process id. */
export const templatePrefix = "trs_sync_test_template_";

/** This run's template database (test/support/global-setup.ts), for test files. */
export function templateDatabase(): string {
  return inject("templateDatabase");
}

export const startCommands = {
  postgres: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  redis:
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
};

export function databaseUrl(name: string): string {
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function pingRedis(url = testRedisUrl): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on("error", () => {}); // the caller gets the rejection
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}
