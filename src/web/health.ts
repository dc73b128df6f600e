/**
 * /healthz (the process runs), /readyz (Postgres and Redis answer; whether the circuit breaker is open, and since when) and /metrics (CONTRACT.md §9).
 *
 * The web process's /metrics has its own process metrics, and what belongs to the whole service:
 * jobs not yet finished by queue, name and state and failed jobs by error class (from Postgres,
 * which knows every job even after a Redis wipe; partial reads of unfinished work, served by the
 * (state, …) indexes, so a scrape costs the same with a year of history), and BullMQ's own queue
 * metrics. Job durations, waits, failures and API requests are counted where they happen, in
 * each worker, which serves them on METRICS_PORT (metrics-server.ts).
 */
import { timingSafeEqual } from "node:crypto";
import express, { type RequestHandler, type Router } from "express";
import { Registry } from "prom-client";
import type { Deps } from "../deps.js";
import { jobNames, ALERTS_QUEUE, SLACK_ALERT_JOB, TEACHER_RECORDS_QUEUE, type Queues } from "../jobs/queues.js";
import { circuitGauges, requestGateGauges, scrapeGauge, type Metrics } from "../metrics.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref())]);

/** `Authorization: Bearer <METRICS_TOKEN>` when one is set. */
export function metricsAuth(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(token) : null;
  return (req, res, next) => {
    if (!expected) return next();
    const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(req.get("authorization") ?? "")?.[1]?.trim() ?? "");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    res.status(401).set("WWW-Authenticate", "Bearer").type("text/plain").send("a valid bearer token is required\n");
  };
}

/**
 * Prometheus text of several sources as one exposition: the lines of a metric family must stay
 * together, and BullMQ writes each queue's families with their own HELP and TYPE lines.
 */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      const name = meta ? meta[2]! : /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
      if (!name) continue;
      const family = meta ? name : familyOf(name, families);
      const entry = families.get(family) ?? { meta: [], samples: [] };
      if (meta) {
        if (!entry.meta.some((m) => m.startsWith(`# ${meta[1]} `))) entry.meta.push(line);
      } else entry.samples.push(line);
      families.set(family, entry);
    }
  }
  return [...families.values()].map((f) => [...f.meta, ...f.samples].join("\n")).join("\n") + "\n";
}

/** A histogram's `_bucket`, `_sum` and `_count` samples belong to the family named without them. */
function familyOf(sample: string, families: Map<string, unknown>): string {
  for (const suffix of ["_bucket", "_sum", "_count", "_total", "_created"]) {
    if (sample.endsWith(suffix) && families.has(sample.slice(0, -suffix.length))) return sample.slice(0, -suffix.length);
  }
  return sample;
}

/** The service-wide gauges web reads at scrape time. */
function serviceRegistry(deps: Deps): Registry {
  const registry = new Registry();
  scrapeGauge({
    registry,
    name: "trs_sync_jobs",
    help: "Jobs not yet finished, by queue, job name and state (from the outbox in Postgres).",
    labelNames: ["queue", "name", "state"] as const,
    async collect(gauge) {
      const [tasks, alerts] = await Promise.all([
        deps.prisma.$queryRaw<{ kind: SyncTaskKind; state: string; count: bigint }[]>`
          SELECT kind::text AS kind, state::text AS state, count(*) AS count FROM sync_tasks
          WHERE state IN ('pending', 'queued', 'running', 'failed') GROUP BY kind, state`,
        deps.prisma.$queryRaw<{ state: string; count: bigint }[]>`
          SELECT state::text AS state, count(*) AS count FROM alerts WHERE state IN ('pending', 'queued', 'failed') GROUP BY state`,
      ]);
      for (const row of tasks) gauge.set({ queue: TEACHER_RECORDS_QUEUE, name: jobNames[row.kind], state: row.state }, Number(row.count));
      for (const row of alerts) gauge.set({ queue: ALERTS_QUEUE, name: SLACK_ALERT_JOB, state: row.state }, Number(row.count));
    },
  });
  scrapeGauge({
    registry,
    name: "trs_sync_failed_jobs",
    help: "Jobs failed for good and waiting for support, by error class.",
    labelNames: ["error_class"] as const,
    async collect(gauge) {
      const rows = await deps.prisma.$queryRaw<{ errorClass: string | null; count: bigint }[]>`
        SELECT error_class AS "errorClass", count(*) AS count FROM sync_tasks WHERE state = 'failed' GROUP BY error_class`;
      for (const row of rows) gauge.set({ error_class: row.errorClass ?? "unknown" }, Number(row.count));
    },
  });
  // events for the upstream application not yet accepted: one it refuses for ever holds back that
  // trainee's later events, so the backlog and its oldest event are what to alert on
  // both gauges are collected together on each scrape: they share one query
  let reading: Promise<{ state: string; count: bigint; oldest: Date | null }[]> | null = null;
  const backlog = () =>
    (reading ??= deps.prisma.$queryRaw<{ state: string; count: bigint; oldest: Date | null }[]>`
        SELECT state::text AS state, count(*) AS count, min(created_at) AS oldest FROM upstream_webhooks
        WHERE state IN ('pending', 'failed') GROUP BY state`.finally(() => {
      reading = null;
    }));
  scrapeGauge({
    registry,
    name: "trs_sync_upstream_webhooks_unsent",
    help: "Events for the upstream application not yet accepted by its receiver, by state (failed: retrying).",
    labelNames: ["state"] as const,
    async collect(gauge) {
      for (const state of ["pending", "failed"]) gauge.set({ state }, 0);
      for (const row of await backlog()) gauge.set({ state: row.state }, Number(row.count));
    },
  });
  scrapeGauge({
    registry,
    name: "trs_sync_upstream_webhooks_oldest_unsent_seconds",
    help: "The Unix time the oldest event not yet accepted by the upstream application was written (0 when none).",
    labelNames: [] as const,
    async collect(gauge) {
      const oldest = (await backlog()).reduce<number>(
        (min, row) => (row.oldest && (!min || row.oldest.getTime() < min) ? row.oldest.getTime() : min),
        0,
      );
      gauge.set(oldest / 1000);
    },
  });
  return registry;
}

/** The circuit breaker as /readyz reports it. */
function circuitReport(state: Awaited<ReturnType<Deps["circuit"]["read"]>>) {
  return state.open ? { state: "open", since: state.since.toISOString(), reason: state.reason } : { state: "closed" };
}

export function healthRoutes(deps: Deps, queues: Queues): Router {
  const router = express.Router();
  const service = serviceRegistry(deps);
  const circuit = new Registry();
  circuitGauges(circuit, () => deps.circuit.read());
  const gate = deps.requestGate;
  if (gate) requestGateGauges(circuit, () => gate.state());
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [postgres, redis] = await Promise.allSettled([
      withTimeout(deps.prisma.$queryRaw`SELECT 1`, 2_000),
      withTimeout(deps.circuit.read(), 2_000),
    ]);
    const checks = { postgres: postgres.status === "fulfilled" ? "ok" : "down", redis: redis.status === "fulfilled" ? "ok" : "down" };
    const ready = checks.postgres === "ok" && checks.redis === "ok";
    // An open circuit leaves this process ready (it still takes changes); it says since when work waits.
    res.status(ready ? 200 : 503).json({
      status: ready ? "ready" : "not ready",
      checks,
      ...(redis.status === "fulfilled" ? { circuit: circuitReport(redis.value) } : {}),
    });
  });
  router.get("/metrics", metricsAuth(deps.config.metricsToken), async (_req, res, next) => {
    try {
      const texts = [await deps.metrics.registry.metrics()];
      // with Postgres or Redis down, the scrape still answers with what it has (and the process metrics)
      const [shared, bullmq] = await Promise.allSettled([
        withTimeout(service.metrics(), 5_000),
        withTimeout(
          Promise.all([...[queues.teacherRecords, queues.alerts].map((queue) => queue.exportPrometheusMetrics()), circuit.metrics()]),
          2_000,
        ),
      ]);
      if (shared.status === "fulfilled") texts.push(shared.value);
      if (bullmq.status === "fulfilled") texts.push(...bullmq.value);
      texts.push(
        [
          "# HELP trs_sync_scrape_source_up Whether the scrape could read each source (1) or not (0).",
          "# TYPE trs_sync_scrape_source_up gauge",
          `trs_sync_scrape_source_up{source="postgres"} ${shared.status === "fulfilled" ? 1 : 0}`,
          `trs_sync_scrape_source_up{source="redis"} ${bullmq.status === "fulfilled" ? 1 : 0}`,
        ].join("\n"),
      );
      res.type(deps.metrics.registry.contentType).send(mergeExpositions(texts));
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/** The worker's own /metrics and /healthz (metrics-server.ts). */
export function processMetricsRoutes(metrics: Metrics, token: string | undefined): Router {
  const router = express.Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/metrics", metricsAuth(token), async (_req, res, next) => {
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });
  return router;
}
