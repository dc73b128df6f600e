/**
 * /healthz (the process runs), /readyz (Postgres and Redis answer) and /metrics (Prometheus text:
 * jobs by queue, name and state; failures by error class; API requests by endpoint and status).
 */
import express, { type Router } from "express";
import type { Deps } from "../deps.js";
import { jobNames, TEACHER_RECORDS_QUEUE, ALERTS_QUEUE, SLACK_ALERT_JOB, type Queues } from "../jobs/queues.js";
import { renderApiMetrics } from "../metrics.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref())]);

export const apiMetricsKey = (prefix: string) => `${prefix}:metrics:api`;

export function healthRoutes(deps: Deps, queues: Queues): Router {
  const router = express.Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const [postgres, redis] = await Promise.allSettled([
      withTimeout(deps.prisma.$queryRaw`SELECT 1`, 2_000),
      withTimeout(deps.redis.ping(), 2_000),
    ]);
    const checks = { postgres: postgres.status === "fulfilled" ? "ok" : "down", redis: redis.status === "fulfilled" ? "ok" : "down" };
    const ready = checks.postgres === "ok" && checks.redis === "ok";
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  });
  router.get("/metrics", async (_req, res, next) => {
    try {
      res.type("text/plain; version=0.0.4").send(await renderMetrics(deps, queues));
    } catch (error) {
      next(error);
    }
  });
  return router;
}

async function renderMetrics(deps: Deps, queues: Queues): Promise<string> {
  const lines: string[] = [];
  // Postgres knows every job's state even when Redis was wiped, and per name.
  const byState = await deps.prisma.syncTask.groupBy({ by: ["kind", "state"], _count: { _all: true } });
  lines.push("# HELP trs_sync_jobs Sync jobs by queue, name and state (from the outbox in Postgres).", "# TYPE trs_sync_jobs gauge");
  for (const row of byState) {
    lines.push(
      `trs_sync_jobs{queue="${TEACHER_RECORDS_QUEUE}",name="${jobNames[row.kind as SyncTaskKind]}",state="${row.state}"} ${row._count._all}`,
    );
  }
  const alerts = await deps.prisma.alert.groupBy({ by: ["state"], _count: { _all: true } });
  for (const row of alerts)
    lines.push(`trs_sync_jobs{queue="${ALERTS_QUEUE}",name="${SLACK_ALERT_JOB}",state="${row.state}"} ${row._count._all}`);

  const failures = await deps.prisma.syncTask.groupBy({ by: ["errorClass"], where: { state: "failed" }, _count: { _all: true } });
  lines.push("# HELP trs_sync_failed_jobs Jobs failed for good, by error class.", "# TYPE trs_sync_failed_jobs gauge");
  for (const row of failures) lines.push(`trs_sync_failed_jobs{error_class="${row.errorClass ?? "unknown"}"} ${row._count._all}`);

  try {
    const counts = await withTimeout(queues.teacherRecords.getJobCounts(), 2_000);
    lines.push("# HELP trs_sync_bullmq_jobs Jobs in BullMQ by queue and state.", "# TYPE trs_sync_bullmq_jobs gauge");
    for (const [state, count] of Object.entries(counts))
      lines.push(`trs_sync_bullmq_jobs{queue="${TEACHER_RECORDS_QUEUE}",state="${state}"} ${count}`);
    const hash = await withTimeout(deps.redis.hgetall(apiMetricsKey(deps.config.redisPrefix)), 2_000);
    return lines.join("\n") + "\n" + renderApiMetrics(hash);
  } catch {
    return lines.join("\n") + "\n# redis unavailable: BullMQ and API request metrics omitted\n";
  }
}
