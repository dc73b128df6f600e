/**
 * Connections to Redis: one server at REDIS_URL, or a Redis Cluster from REDIS_CLUSTER_NODES. BullMQ,
 * the circuit breaker, the request gate and the sign-in throttle take either; in a cluster every key
 * carries REDIS_PREFIX's hash tag (config.ts insists on one), so each Lua script and each BullMQ
 * command finds all its keys on one node.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";

export type RedisConnection = Redis | Cluster;

export type RedisPurpose = "queue" | "worker" | "events";

export function redisOptions(purpose: RedisPurpose): RedisOptions {
  return {
    // BullMQ requires null for blocking connections; Queue commands fail fast instead of queueing
    // while Redis is down, so the outbox dispatcher knows to keep rows in Postgres.
    maxRetriesPerRequest: purpose === "queue" ? 1 : null,
    enableOfflineQueue: purpose !== "queue",
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
  };
}

export function connectRedis(options: { url: string; clusterNodes: string[] | null; purpose: RedisPurpose }): RedisConnection {
  if (!options.clusterNodes) return new Redis(options.url, redisOptions(options.purpose));
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = redisOptions(options.purpose);
  const first = new URL(options.clusterNodes[0]!);
  return new Cluster(
    options.clusterNodes.map((node) => {
      const parsed = new URL(node);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    }),
    {
      enableOfflineQueue: enableOfflineQueue ?? true,
      clusterRetryStrategy: retryStrategy ?? null,
      redisOptions: {
        ...nodeOptions,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      },
    },
  );
}
