/**
 * The processes a throughput scenario runs: the sandbox TRS API, a real trs-sync `worker` process
 * (src/main-worker.ts) and, as the baseline, a plain BullMQ worker making the same calls
 * (bench/plain-worker.ts). Each worker runs with bench/round-trips.ts preloaded, so that the
 * scenario can read how many Postgres statements and Redis commands it sent.
 *
 * BENCH_PROFILE=<dir> runs the workers under `node --cpu-prof`, writing their profiles there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { envSchema } from "../src/config.js";
import { askChild } from "./ipc.js";
import type { CompactRequest } from "./sandbox-process.js";
import { memory } from "./web-process.js";

export const SANDBOX_KEY = "sandbox-key";

function node(script: string, env: Record<string, string>, options: { profile?: string } = {}): ChildProcess {
  const profile = process.env.BENCH_PROFILE;
  const flags =
    profile && options.profile
      ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profile)}`, `--cpu-prof-name=${options.profile}-${Date.now()}.cpuprofile`]
      : [];
  if (profile && options.profile) mkdirSync(path.resolve(profile), { recursive: true });
  return spawn(process.execPath, [...flags, "--import", "tsx", "--import", "./bench/round-trips.ts", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; everyMs?: number; detail?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.detail ? ` (${options.detail()})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
  }
}

export interface SandboxProcess {
  url: string;
  reset(): Promise<void>;
  seedPersons(persons: unknown[]): Promise<void>;
  count(): Promise<number>;
  requests(): Promise<CompactRequest[]>;
  stop(): Promise<void>;
}

export async function startSandbox(): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/sandbox-process.ts"], {
    env: { ...process.env, LOG_LEVEL: "silent" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the sandbox exited (${code})`)));
    child.on("message", (message: { ready?: string }) => message?.ready && resolve(message.ready));
  });
  return {
    url,
    reset: () => askChild(child, "reset"),
    async seedPersons(persons) {
      for (let i = 0; i < persons.length; i += 2_000) await askChild(child, "seed-persons", persons.slice(i, i + 2_000));
    },
    count: () => askChild(child, "count"),
    requests: () => askChild(child, "requests"),
    stop: () => stopChild(child),
  };
}

/** Figures a worker process reports. */
export interface WorkerProcess {
  pid: number;
  rssMiB(): number;
  roundTrips(): Promise<{ pg: number; redis: number; redisCommands: number }>;
  resetRoundTrips(): Promise<void>;
  stop(): Promise<void>;
}

function workerHandle(child: ChildProcess): WorkerProcess {
  return {
    pid: child.pid!,
    rssMiB: () => memory(child.pid!).rssMiB,
    roundTrips: () => askChild(child, "round-trips"),
    resetRoundTrips: () => askChild<unknown>(child, "reset-round-trips").then(() => undefined),
    stop: () => stopChild(child),
  };
}

async function waitForWorker(redisUrl: string, prefix: string, queue: string, child: ChildProcess): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const q = new Queue(queue, { connection: redis, prefix });
  try {
    await waitFor(
      `a worker on ${queue}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode})`);
        return (await q.getWorkersCount()) > 0 ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 200 },
    );
  } finally {
    await q.close();
    await redis.quit();
  }
}

/**
 * "Rate limit off" as the configuration in this checkout spells it: `off` where the setting takes
 * it, else the highest number it accepts.
 */
export function rateLimitOff(): string {
  return envSchema.shape.API_RATE_LIMIT_PER_MINUTE.safeParse("off").success ? "off" : "100000";
}

/** Whether the configuration has API_RATE_LIMIT_WINDOW (a rate limit window other than a minute). */
export function hasRateLimitWindow(): boolean {
  return "API_RATE_LIMIT_WINDOW" in envSchema.shape;
}

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export interface WorkerOptions {
  databaseUrl: string;
  sandboxUrl: string;
  prefix: string;
  concurrency: number;
  env?: Record<string, string>;
  /** the profile's file name prefix under BENCH_PROFILE */
  profile?: string;
}

/** A real trs-sync worker process: BullMQ workers, the dispatcher, the reconciler. */
export async function startWorker(options: WorkerOptions): Promise<WorkerProcess> {
  const child = node(
    "src/main-worker.ts",
    {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: options.prefix,
      TRS_API_BASE_URL: options.sandboxUrl,
      TRS_API_KEY: SANDBOX_KEY,
      WORKER_CONCURRENCY: String(options.concurrency),
      DATABASE_POOL_SIZE: String(options.concurrency + 8),
      API_RATE_LIMIT_PER_MINUTE: rateLimitOff(),
      METRICS_PORT: "off",
      LOG_LEVEL: "warn",
      ...options.env,
    },
    options.profile ? { profile: options.profile } : {},
  );
  await waitForWorker(redisUrl, options.prefix, "teacher-records", child);
  return workerHandle(child);
}

export const PLAIN_QUEUE = "plain-teacher-records";

/** The baseline: a plain BullMQ worker making the same calls through the same client (bench/plain-worker.ts). */
export async function startPlainWorker(options: Omit<WorkerOptions, "databaseUrl" | "env">): Promise<WorkerProcess> {
  const child = node(
    "bench/plain-worker.ts",
    {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: options.prefix,
      TRS_API_BASE_URL: options.sandboxUrl,
      TRS_API_KEY: SANDBOX_KEY,
      WORKER_CONCURRENCY: String(options.concurrency),
    },
    options.profile ? { profile: options.profile } : {},
  );
  await waitForWorker(redisUrl, options.prefix, PLAIN_QUEUE, child);
  return workerHandle(child);
}

/** Removes every key under a bench prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}

/** One number from one query (a short-lived connection of its own). */
export async function scalarOf(databaseUrl: string, sql: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ value: string }>(sql, params);
    return Number(rows[0]?.value ?? 0);
  } finally {
    await client.end();
  }
}

/** p-th percentile (0..100) of sorted numbers, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
