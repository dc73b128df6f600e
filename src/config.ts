/**
 * The whole environment, parsed once at start by one zod schema (CONTRACT.md §3). A missing or
 * malformed variable stops the process with one line per problem, naming the variable.
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { parseTrustProxy, type TrustProxy } from "./trust-proxy.js";

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
  /**
   * a Redis Cluster instead of REDIS_URL: its seed nodes, comma-separated redis:// URLs. Every key
   * of trs-sync and BullMQ must then live on one node, so REDIS_PREFIX must carry a hash tag, e.g.
   * `{trs-sync}` (BullMQ's own rule for clusters)
   */
  REDIS_CLUSTER_NODES: optional(
    z
      .string()
      .transform((text) =>
        text
          .split(",")
          .map((part) => part.trim())
          .filter(Boolean),
      )
      .pipe(z.array(url).min(1, "REDIS_CLUSTER_NODES needs at least one redis:// URL")),
  ),
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
  /**
   * requests to the teacher records API in any window of API_RATE_LIMIT_WINDOW (a minute), across
   * every process (TRS allows 1000); `off` for none (a local fake API, the benchmark's baseline)
   */
  API_RATE_LIMIT_PER_MINUTE: z.union([z.literal("off"), z.coerce.number().int().positive().max(100_000)]).default(900),
  /** the window the limit counts in; a minute, as TRS counts, except in tests and the benchmark */
  API_RATE_LIMIT_WINDOW: duration("API_RATE_LIMIT_WINDOW")
    .refine((ms) => ms >= 100 && ms <= 3_600_000, "API_RATE_LIMIT_WINDOW must be between 100ms and 1h")
    .prefault("1m"),
  /**
   * how long a request may wait for a slot while its job holds the trainee's lock; a longer wait
   * delays the job instead (no attempt spent)
   */
  API_RATE_LIMIT_MAX_WAIT: duration("API_RATE_LIMIT_MAX_WAIT")
    .refine((ms) => ms <= 60_000, "API_RATE_LIMIT_MAX_WAIT must be at most 1m (the trainee's lock is held meanwhile)")
    .prefault("10s"),
  /** where traces go (OTLP over HTTP); tracing is off without it (telemetry.ts) */
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url),
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
  /**
   * on: TRS tells us of completed TRN requests by webhook (POST /webhooks/trs, signed, keys at
   * <TRS_API_BASE_URL>/webhook-jwks) and polling is only the fallback; default off
   */
  TRS_WEBHOOKS: z.enum(["on", "off"]).prefault("off"),
  /** with TRS_WEBHOOKS=on: the first fallback poll this long after the request; default 6h */
  TRN_POLL_WEBHOOK_FIRST_DELAY: duration("TRN_POLL_WEBHOOK_FIRST_DELAY").prefault("6h"),
  /** with TRS_WEBHOOKS=on: the longest interval between fallback polls; default 6h */
  TRN_POLL_WEBHOOK_MAX_INTERVAL: duration("TRN_POLL_WEBHOOK_MAX_INTERVAL").prefault("6h"),
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
  /** where the worker POSTs events for the upstream application (src/jobs/upstream-webhooks.ts); the worker's setting decides, for every process, whether events are recorded (upstream_webhook_settings) */
  UPSTREAM_WEBHOOK_URL: optional(url),
  /**
   * signs those events (Standard Webhooks): `whsec_<base64>` uses the decoded bytes as the HMAC key,
   * any other value its UTF-8 bytes; required with UPSTREAM_WEBHOOK_URL, at least 16 characters
   */
  UPSTREAM_WEBHOOK_SECRET: optional(
    z
      .string()
      .min(16, "UPSTREAM_WEBHOOK_SECRET must be at least 16 characters")
      .refine(
        (secret) =>
          !secret.startsWith("whsec_") ||
          (/^[A-Za-z0-9+/]+={0,2}$/.test(secret.slice(6)) && Buffer.from(secret.slice(6), "base64").length >= 24),
        "UPSTREAM_WEBHOOK_SECRET: a whsec_ secret must be base64 of at least 24 bytes (Standard Webhooks)",
      ),
  ),
  /** per-request timeout of an event POST */
  UPSTREAM_WEBHOOK_TIMEOUT: duration("UPSTREAM_WEBHOOK_TIMEOUT").prefault("10s"),
  /** first retry delay after a failed POST; doubles per attempt up to UPSTREAM_WEBHOOK_RETRY_MAX (never given up) */
  UPSTREAM_WEBHOOK_RETRY_BASE: duration("UPSTREAM_WEBHOOK_RETRY_BASE").prefault("5s"),
  UPSTREAM_WEBHOOK_RETRY_MAX: duration("UPSTREAM_WEBHOOK_RETRY_MAX").prefault("1h"),
  /** how often the sender looks for due events */
  UPSTREAM_WEBHOOK_INTERVAL: duration("UPSTREAM_WEBHOOK_INTERVAL")
    .refine((ms) => ms >= 10, "UPSTREAM_WEBHOOK_INTERVAL must be at least 10ms")
    .prefault("1s"),
  PUBLIC_BASE_URL: optional(url),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_TOKENS: optional(z.string()),
  DASHBOARD_USERS: optional(z.string()),
  SESSION_SECRET: optional(z.string().min(16, "SESSION_SECRET must be at least 16 characters")),
  /**
   * Express "trust proxy" for the load balancer in front of web: off (default), a hop count ("1") or
   * a list of addresses, subnets and Express's names ("10.0.0.0/8,loopback"), each entry checked in
   * src/trust-proxy.ts. Never "true", which would let a client choose its own address (and so dodge
   * the sign-in throttle).
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const parsed = parseTrustProxy(text);
      if ("problem" in parsed) {
        ctx.addIssue({ code: "custom", message: parsed.problem });
        return z.NEVER;
      }
      return parsed.value;
    }),
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
  if (has("REDIS_CLUSTER_NODES") && !/\{[^{}]+\}/.test(source.REDIS_PREFIX ?? "")) {
    problems.push(
      "REDIS_PREFIX must carry a hash tag such as {trs-sync} when REDIS_CLUSTER_NODES is set: BullMQ's keys must share one cluster slot",
    );
  }
  if (has("UPSTREAM_WEBHOOK_URL") && !has("UPSTREAM_WEBHOOK_SECRET")) {
    problems.push("UPSTREAM_WEBHOOK_SECRET is required when UPSTREAM_WEBHOOK_URL is set: every event is signed");
  }
  if (has("UPSTREAM_WEBHOOK_SECRET") && !has("UPSTREAM_WEBHOOK_URL")) {
    problems.push("UPSTREAM_WEBHOOK_SECRET is set without UPSTREAM_WEBHOOK_URL: no events would be sent");
  }
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
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); null for one Redis at redisUrl */
  redisClusterNodes: string[] | null;
  redisPrefix: string;
  api: {
    kind: "trs" | "dqt";
    baseUrl: string;
    apiKey: string;
    /** X-Api-Version, TRS only */
    version: string;
    timeoutMs: number;
    /** requests allowed in any window of `rateWindowMs`; null when the limit is off */
    ratePerMinute: number | null;
    rateWindowMs: number;
    /** ms a request may wait for a slot before its job is delayed instead */
    rateMaxWaitMs: number;
  };
  trnPoll: {
    firstDelayMs: number;
    maxIntervalMs: number;
    timeoutMs: number;
    octoberTimeoutMs: number;
    /** set when TRS_WEBHOOKS=on: polling is the fallback, on this slower schedule */
    webhooks?: { firstDelayMs: number; maxIntervalMs: number };
  };
  /** TRS_WEBHOOKS=on: POST /webhooks/trs is served */
  trsWebhooks: boolean;
  /** the circuit breaker in front of the teacher records API (clients/circuit-breaker.ts) */
  circuit: { failureThreshold: number; failureWindowMs: number; probeIntervalMs: number };
  updateDebounceMs: number;
  retryBaseDelayMs: number | undefined;
  jobLockDurationMs: number;
  workerConcurrency: number;
  databasePoolSize: number;
  reconcileIntervalMs: number;
  slackWebhookUrl: string | undefined;
  /** outbound events to the upstream application; null when UPSTREAM_WEBHOOK_URL is unset */
  upstreamWebhooks: {
    url: string;
    secret: string;
    timeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    intervalMs: number;
  } | null;
  publicBaseUrl: string;
  /** PUBLIC_BASE_URL as given (null when not set): the base of the URL TRS signs its webhooks for */
  publicBaseUrlGiven: string | null;
  port: number;
  apiTokens: string[];
  dashboardUsers: { name: string; role: "viewer" | "support"; passwordHash: string }[];
  sessionSecret: string | undefined;
  /** Express "trust proxy": false, a hop count, or addresses */
  trustProxy: TrustProxy;
  production: boolean;
  logLevel: Env["LOG_LEVEL"];
  demo: boolean;
  metricsToken: string | undefined;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: traces are sent there; none, no tracing */
  otelEndpoint: string | undefined;
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
    redisClusterNodes: env.REDIS_CLUSTER_NODES ?? null,
    redisPrefix: env.REDIS_PREFIX,
    api: {
      kind: env.TEACHER_RECORDS_API,
      baseUrl: (trs ? env.TRS_API_BASE_URL : env.DQT_API_BASE_URL) ?? "http://127.0.0.1:3100",
      apiKey: (trs ? env.TRS_API_KEY : env.DQT_API_KEY) ?? "sandbox-key",
      version: env.TRS_API_VERSION,
      timeoutMs: env.API_TIMEOUT,
      ratePerMinute: env.API_RATE_LIMIT_PER_MINUTE === "off" ? null : env.API_RATE_LIMIT_PER_MINUTE,
      rateWindowMs: env.API_RATE_LIMIT_WINDOW,
      rateMaxWaitMs: env.API_RATE_LIMIT_MAX_WAIT,
    },
    trnPoll: {
      firstDelayMs: env.TRN_POLL_FIRST_DELAY,
      maxIntervalMs: env.TRN_POLL_MAX_INTERVAL,
      timeoutMs: env.TRN_POLL_TIMEOUT,
      octoberTimeoutMs: env.TRN_POLL_TIMEOUT_OCTOBER,
      ...(env.TRS_WEBHOOKS === "on"
        ? { webhooks: { firstDelayMs: env.TRN_POLL_WEBHOOK_FIRST_DELAY, maxIntervalMs: env.TRN_POLL_WEBHOOK_MAX_INTERVAL } }
        : {}),
    },
    trsWebhooks: env.TRS_WEBHOOKS === "on",
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
    upstreamWebhooks:
      env.UPSTREAM_WEBHOOK_URL && env.UPSTREAM_WEBHOOK_SECRET
        ? {
            url: env.UPSTREAM_WEBHOOK_URL,
            secret: env.UPSTREAM_WEBHOOK_SECRET,
            timeoutMs: env.UPSTREAM_WEBHOOK_TIMEOUT,
            retryBaseMs: env.UPSTREAM_WEBHOOK_RETRY_BASE,
            retryMaxMs: env.UPSTREAM_WEBHOOK_RETRY_MAX,
            intervalMs: env.UPSTREAM_WEBHOOK_INTERVAL,
          }
        : null,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ""),
    publicBaseUrlGiven: env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/$/, "") : null,
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
    trustProxy: env.TRUST_PROXY,
    production: env.NODE_ENV === "production",
    logLevel: env.LOG_LEVEL,
    demo,
    retentionPeriodMs: env.RETENTION_PERIOD,
    metricsToken: env.METRICS_TOKEN,
    otelEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    metricsPort: env.METRICS_PORT,
  };
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
