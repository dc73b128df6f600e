/**
 * The whole environment, parsed once at start by one zod schema (CONTRACT.md §3). A missing or
 * malformed variable stops the process with one line per problem, naming the variable.
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";

const duration = (name: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: `${name} must be <integer><unit> with unit ms, s, m, h or d (got "${text}")` });
      return z.NEVER;
    }
    return ms;
  });

const url = z.string().url();
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const dashboardUser = z
  .string()
  .regex(/^[^:,]+:(viewer|support):.+$/, "each DASHBOARD_USERS entry is name:role:passwordhash, role viewer or support")
  .transform((entry) => {
    const [name, role, ...hash] = entry.split(":");
    return { name: name!, role: role as "viewer" | "support", passwordHash: hash.join(":") };
  });

export const envSchema = z.object({
  NODE_ENV: z.string().prefault("development"),
  /** set by `npm run demo`: allows the sandbox defaults below */
  TRS_SYNC_DEMO: optional(z.enum(["1", "true"])),
  DATABASE_URL: url.default("postgresql://postgres@127.0.0.1:5432/trs_sync"),
  REDIS_URL: url.default("redis://127.0.0.1:6379"),
  /** BullMQ key prefix; tests give each file its own */
  REDIS_PREFIX: z.string().min(1).default("trs-sync"),
  TEACHER_RECORDS_API: z.enum(["trs", "dqt"]).prefault("trs"),
  TRS_API_BASE_URL: optional(url),
  TRS_API_KEY: optional(z.string().min(1)),
  TRS_API_VERSION: z
    .string()
    .regex(/^\d{8}$/, "TRS_API_VERSION is a date, yyyyMMdd")
    .prefault("20250627"),
  DQT_API_BASE_URL: optional(url),
  DQT_API_KEY: optional(z.string().min(1)),
  /** requests per minute to the teacher records API, across all workers (TRS allows 1000) */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().max(100_000).default(900),
  /** per-request timeout towards the teacher records API */
  API_TIMEOUT: duration("API_TIMEOUT").prefault("30s"),
  /** different jobs meeting a server error, timeout or no connection within the window that open the circuit */
  CIRCUIT_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(1_000).default(5),
  CIRCUIT_FAILURE_WINDOW: duration("CIRCUIT_FAILURE_WINDOW")
    .refine((ms) => ms >= 1_000, "CIRCUIT_FAILURE_WINDOW must be at least 1s")
    .prefault("1m"),
  /** how often one process probes the API while the circuit is open */
  CIRCUIT_PROBE_INTERVAL: duration("CIRCUIT_PROBE_INTERVAL")
    .refine((ms) => ms >= 100, "CIRCUIT_PROBE_INTERVAL must be at least 100ms")
    .prefault("30s"),
  TRN_POLL_FIRST_DELAY: duration("TRN_POLL_FIRST_DELAY").prefault("1m"),
  TRN_POLL_MAX_INTERVAL: duration("TRN_POLL_MAX_INTERVAL").prefault("1h"),
  TRN_POLL_TIMEOUT: duration("TRN_POLL_TIMEOUT").prefault("4d"),
  TRN_POLL_TIMEOUT_OCTOBER: duration("TRN_POLL_TIMEOUT_OCTOBER").prefault("10d"),
  /** an update waits this long before it is sent, so that quick edits become one update */
  UPDATE_DEBOUNCE: duration("UPDATE_DEBOUNCE").prefault("5s"),
  /** first retry delay of a failed job (doubles per attempt); unset: each job's own (30s sync, 10s alerts) */
  JOB_RETRY_BASE_DELAY: optional(duration("JOB_RETRY_BASE_DELAY")),
  /** a job whose worker stops renewing its lock this long (a killed worker) runs again elsewhere */
  JOB_LOCK_DURATION: duration("JOB_LOCK_DURATION").prefault("30s"),
  /** jobs of the teacher-records queue run at once in one worker process */
  WORKER_CONCURRENCY: z.coerce.number().int().positive().max(200).default(10),
  /**
   * Postgres connections this process may open; default WORKER_CONCURRENCY + 10. A running job holds
   * one for its trainee lock and needs another for its writes, so a worker needs more than
   * WORKER_CONCURRENCY.
   */
  DATABASE_POOL_SIZE: optional(z.coerce.number().int().min(2).max(500)),
  /** how often the reconciler compares Postgres with Redis */
  RECONCILE_INTERVAL: duration("RECONCILE_INTERVAL").prefault("30s"),
  SLACK_WEBHOOK_URL: optional(url),
  PUBLIC_BASE_URL: optional(url),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_TOKENS: optional(z.string()),
  DASHBOARD_USERS: optional(z.string()),
  SESSION_SECRET: optional(z.string().min(16, "SESSION_SECRET must be at least 16 characters")),
  /**
   * Express "trust proxy" for the load balancer in front of web: a hop count ("1") or a list of
   * addresses or subnets ("10.0.0.0/8,loopback"). Off by default; never "true", which would let a
   * client choose its own address (and so dodge the sign-in throttle).
   */
  TRUST_PROXY: optional(
    z
      .string()
      .trim()
      .refine((text) => !/^(true|yes|all|\*)$/i.test(text), "TRUST_PROXY must be a hop count or a list of addresses, never true")
      .refine((text) => /^(off|false|\d{1,2}|[0-9A-Za-z.:/_, -]+)$/i.test(text), "TRUST_PROXY must be a hop count or a list of addresses"),
  ),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).prefault("info"),
  /** when set, GET /metrics (web and worker) needs `Authorization: Bearer <METRICS_TOKEN>` */
  METRICS_TOKEN: optional(z.string().min(16, "METRICS_TOKEN must be at least 16 characters")),
  /** the worker's /metrics and /healthz port; `off` serves none, 0 a free port */
  METRICS_PORT: z
    .string()
    .prefault("9464")
    .transform((text, ctx) => {
      if (/^off$/i.test(text.trim())) return null;
      const port = Number(text);
      if (!/^\d{1,5}$/.test(text.trim()) || port > 65_535) {
        ctx.addIssue({ code: "custom", message: `METRICS_PORT must be a port number or off (got "${text}")` });
        return z.NEVER;
      }
      return port;
    }),
  /**
   * Finished work and its timeline older than this are deleted by the daily retention job, except
   * what explains each trainee's state now (src/jobs/retention.ts); `off` keeps everything. Default
   * 548d (18 months: the academic year before last stays visible); at least 30d.
   */
  RETENTION_PERIOD: z
    .string()
    .prefault("548d")
    .transform((text, ctx) => {
      if (/^off$/i.test(text.trim())) return null;
      const ms = parseDuration(text);
      if (ms === null || ms < 30 * 86_400_000) {
        ctx.addIssue({ code: "custom", message: `RETENTION_PERIOD must be off or a duration of at least 30d, e.g. 548d (got "${text}")` });
        return z.NEVER;
      }
      return ms;
    }),
});

/**
 * Rules across variables, checked on the raw environment so that they are reported together with
 * the per-variable problems (zod skips refinements of an object whose fields failed).
 */
function crossVariableProblems(source: NodeJS.ProcessEnv): string[] {
  const has = (name: string) => (source[name] ?? "") !== "";
  const demo = has("TRS_SYNC_DEMO");
  const problems: string[] = [];
  const api = source.TEACHER_RECORDS_API || "trs";
  if (!demo && (api === "trs" || api === "dqt")) {
    const upper = api.toUpperCase();
    for (const name of [`${upper}_API_BASE_URL`, `${upper}_API_KEY`]) {
      if (!has(name)) problems.push(`${name} is required when TEACHER_RECORDS_API=${api}`);
    }
  }
  if (!demo && source.NODE_ENV === "production" && !has("SESSION_SECRET")) problems.push("SESSION_SECRET is required outside demo");
  const pool = Number(source.DATABASE_POOL_SIZE);
  const concurrency = Number(source.WORKER_CONCURRENCY || 10);
  if (has("DATABASE_POOL_SIZE") && Number.isInteger(pool) && Number.isInteger(concurrency) && pool < concurrency + 2) {
    problems.push(
      `DATABASE_POOL_SIZE must be at least WORKER_CONCURRENCY + 2 (${concurrency + 2}): each running job needs two connections`,
    );
  }
  for (const entry of (source.DASHBOARD_USERS ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    if (!dashboardUser.safeParse(entry).success) {
      problems.push("DASHBOARD_USERS entries are name:role:passwordhash, role viewer or support");
      break;
    }
  }
  return problems;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  api: {
    kind: "trs" | "dqt";
    baseUrl: string;
    apiKey: string;
    /** X-Api-Version, TRS only */
    version: string;
    timeoutMs: number;
    ratePerMinute: number;
  };
  trnPoll: { firstDelayMs: number; maxIntervalMs: number; timeoutMs: number; octoberTimeoutMs: number };
  /** the circuit breaker in front of the teacher records API (clients/circuit-breaker.ts) */
  circuit: { failureThreshold: number; failureWindowMs: number; probeIntervalMs: number };
  updateDebounceMs: number;
  retryBaseDelayMs: number | undefined;
  jobLockDurationMs: number;
  workerConcurrency: number;
  databasePoolSize: number;
  reconcileIntervalMs: number;
  slackWebhookUrl: string | undefined;
  publicBaseUrl: string;
  port: number;
  apiTokens: string[];
  dashboardUsers: { name: string; role: "viewer" | "support"; passwordHash: string }[];
  sessionSecret: string | undefined;
  /** Express "trust proxy": false, a hop count, or addresses */
  trustProxy: false | number | string[];
  production: boolean;
  logLevel: Env["LOG_LEVEL"];
  demo: boolean;
  metricsToken: string | undefined;
  /** the worker's metrics port; null: none */
  metricsPort: number | null;
  /** ms of history kept by the daily retention job; null: kept for ever */
  retentionPeriodMs: number | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError with one line per problem. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => {
          const name = String(issue.path[0] ?? "environment");
          return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
        })),
    ...crossVariableProblems(source),
  ];
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const env = parsed.data;
  const demo = env.TRS_SYNC_DEMO !== undefined;
  const trs = env.TEACHER_RECORDS_API === "trs";
  return {
    env,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    api: {
      kind: env.TEACHER_RECORDS_API,
      baseUrl: (trs ? env.TRS_API_BASE_URL : env.DQT_API_BASE_URL) ?? "http://127.0.0.1:3100",
      apiKey: (trs ? env.TRS_API_KEY : env.DQT_API_KEY) ?? "sandbox-key",
      version: env.TRS_API_VERSION,
      timeoutMs: env.API_TIMEOUT,
      ratePerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    },
    trnPoll: {
      firstDelayMs: env.TRN_POLL_FIRST_DELAY,
      maxIntervalMs: env.TRN_POLL_MAX_INTERVAL,
      timeoutMs: env.TRN_POLL_TIMEOUT,
      octoberTimeoutMs: env.TRN_POLL_TIMEOUT_OCTOBER,
    },
    circuit: {
      failureThreshold: env.CIRCUIT_FAILURE_THRESHOLD,
      failureWindowMs: env.CIRCUIT_FAILURE_WINDOW,
      probeIntervalMs: env.CIRCUIT_PROBE_INTERVAL,
    },
    updateDebounceMs: env.UPDATE_DEBOUNCE,
    retryBaseDelayMs: env.JOB_RETRY_BASE_DELAY,
    jobLockDurationMs: env.JOB_LOCK_DURATION,
    workerConcurrency: env.WORKER_CONCURRENCY,
    databasePoolSize: env.DATABASE_POOL_SIZE ?? env.WORKER_CONCURRENCY + 10,
    reconcileIntervalMs: env.RECONCILE_INTERVAL,
    slackWebhookUrl: env.SLACK_WEBHOOK_URL,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ""),
    port: env.PORT,
    apiTokens: (env.API_TOKENS ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    dashboardUsers: (env.DASHBOARD_USERS ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)
      .map((e) => dashboardUser.parse(e)),
    sessionSecret: env.SESSION_SECRET,
    trustProxy: trustProxy(env.TRUST_PROXY),
    production: env.NODE_ENV === "production",
    logLevel: env.LOG_LEVEL,
    demo,
    retentionPeriodMs: env.RETENTION_PERIOD,
    metricsToken: env.METRICS_TOKEN,
    metricsPort: env.METRICS_PORT,
  };
}

function trustProxy(text: string | undefined): false | number | string[] {
  if (!text || /^(off|false)$/i.test(text)) return false;
  if (/^\d+$/.test(text)) return Number(text);
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

/** For main-*.ts: parse or print one line per problem and exit. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(`configuration: ${line}`);
      process.exit(78);
    }
    throw error;
  }
}
