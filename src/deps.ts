/**
 * Everything a process needs, built once in main and passed down: never imported as singletons,
 * so tests build their own with a test configuration.
 */
import { connectRedis, redisOptions, type RedisConnection } from "./redis.js";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.js";
import type { Config } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { createTeacherRecordsClient } from "./clients/create-client.js";
import type { TeacherRecordsClient } from "./clients/teacher-records.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createCircuitBreaker, type CircuitBreaker } from "./clients/circuit-breaker.js";
import { createRequestGate, type RequestGate } from "./clients/request-gate.js";

export type Db = PrismaClient;

export interface Deps {
  config: Config;
  logger: Logger;
  prisma: Db;
  /**
   * The same connections as `prisma` (Prisma's driver adapter runs on this pool): the hot path
   * (claim, lock, outcome, dispatch) sends its few statements here directly, without the Prisma
   * client's per-statement work. Rows read here are converted with src/db/rows.ts.
   */
  pool: pg.Pool;
  /** for Queue instances and commands; fails fast while Redis is down (no offline queue) */
  redis: RedisConnection;
  /** opens a new connection, e.g. for a Worker's blocking commands */
  newRedis(purpose: "worker" | "events"): RedisConnection;
  api: TeacherRecordsClient;
  /** the circuit breaker in front of the API, its state in Redis (shared by every process) */
  circuit: CircuitBreaker;
  /** the request limit towards the API, in Redis (shared by every process); null when it is off */
  requestGate: RequestGate | null;
  metrics: Metrics;
  /** the clock: tests move it */
  now(): Date;
  close(): Promise<void>;
}

export { redisOptions };

export function createPrisma(config: Config, poolSize: number): { prisma: Db; pool: pg.Pool } {
  // TCP keepalives: a connection to a Postgres that vanished (or a path that died) is noticed in
  // about a minute instead of hanging until the operating system gives up.
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: poolSize,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // an idle connection that breaks is dropped by the pool; without a listener it would crash the process
  pool.on("error", () => {});
  return { prisma: new PrismaClient({ adapter: new PrismaPg(pool) }), pool };
}

export function createDeps(config: Config, overrides: Partial<Pick<Deps, "now" | "api" | "logger">> = {}): Deps {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  // Each running job holds one connection for its API calls (the per-trainee advisory lock), plus headroom.
  const { prisma, pool } = createPrisma(config, config.databasePoolSize);
  const opened: RedisConnection[] = [];
  const newRedis = (purpose: "queue" | "worker" | "events") => {
    const connection = connectRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, purpose });
    connection.on("error", (error) => logger.debug({ err: error.message, purpose }, "redis connection error"));
    opened.push(connection);
    return connection;
  };
  const metrics = createMetrics();
  const redis = newRedis("queue");
  const circuit = createCircuitBreaker({
    redis,
    prefix: config.redisPrefix,
    settings: config.circuit,
    onError: (error) => logger.debug({ err: error.message }, "could not note an answer for the circuit breaker"),
  });
  const requestGate =
    config.api.ratePerMinute === null
      ? null
      : createRequestGate({
          redis,
          prefix: config.redisPrefix,
          settings: {
            limit: config.api.ratePerMinute,
            windowMs: config.api.rateWindowMs,
            requestTimeoutMs: config.api.timeoutMs,
            maxWaitMs: config.api.rateMaxWaitMs,
          },
          onError: (error) => logger.warn({ err: error.message }, "the request limit could not be consulted or updated in Redis"),
        });
  const api =
    overrides.api ??
    createTeacherRecordsClient({
      kind: config.api.kind,
      baseUrl: config.api.baseUrl,
      apiKey: config.api.apiKey,
      version: config.api.version,
      timeoutMs: config.api.timeoutMs,
      gate: requestGate ?? undefined,
      observe: (sample) => {
        metrics.observeApiRequest(sample);
        circuit.noteStatus(sample.status);
      },
    });
  return {
    config,
    logger,
    prisma,
    pool,
    redis,
    newRedis: (purpose) => newRedis(purpose),
    api,
    circuit,
    requestGate,
    metrics,
    now: overrides.now ?? (() => new Date()),
    async close() {
      await Promise.allSettled(opened.map((c) => c.quit().catch(() => c.disconnect())));
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}
