/**
 * The reconciler (worker process): Postgres is the source of truth and Redis keeps nothing on disk,
 * so it compares what Postgres says is in BullMQ (tasks queued or running, alerts queued) with what
 * BullMQ really holds under each job id, and repairs the difference:
 *
 * - no job (a Redis wipe), or a job BullMQ completed without the runner recording an outcome: the
 *   row goes back to pending and the dispatcher brings it again (the claim decides what to do);
 * - a job BullMQ failed for good without the runner recording it (Postgres failed in the claim or
 *   the last write, the job stalled too often, the listener missed it): the row fails too, with the
 *   class from the failure reason, so it is counted and shown like any failure instead of blocking
 *   the trainee's line unseen;
 * - a job that failed before the row last changed (a retry whose job could not be replaced): the
 *   row goes back to pending.
 *
 * A Redis wipe or a lost write costs time, not data, and never leaves work stuck without a trace.
 */
import type { RedisConnection } from "../redis.js";
import type { Deps } from "../deps.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";
import { handBack, inQueueStates, recordLostFailure } from "../trainees/sync-tasks.js";
import { classifyFailureReason } from "./classify.js";
import { alertJobId, ALERTS_QUEUE, jobNames, taskJobId, TEACHER_RECORDS_QUEUE } from "./queues.js";
import { recordAlertFailure } from "./slack-alert.js";

/** Rows younger than this may still be between the dispatcher's add and its commit. */
const GRACE_MS = 10_000;
const BATCH = 1_000;

export type JobPresence = { state: "missing" | "completed" | "live" } | { state: "failed"; finishedOn: number; reason: string };

/** What BullMQ holds under each job id (nothing, a finished job, or a live one), in one round trip. */
export async function jobPresence(redis: RedisConnection, prefix: string, queue: string, jobIds: string[]): Promise<JobPresence[]> {
  const pipeline = redis.pipeline();
  for (const id of jobIds) {
    const key = `${prefix}:${queue}:${id}`;
    pipeline
      .exists(key)
      .zscore(`${prefix}:${queue}:failed`, id)
      .zscore(`${prefix}:${queue}:completed`, id)
      .hmget(key, "finishedOn", "failedReason");
  }
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  const values = results.map(([, value]) => value);
  return jobIds.map((_, index) => {
    const [exists, failedScore, completedScore, fields] = values.slice(index * 4, index * 4 + 4) as [
      number,
      string | null,
      string | null,
      (string | null)[],
    ];
    if (exists === 0) return { state: "missing" };
    if (failedScore !== null) return { state: "failed", finishedOn: Number(fields[0] ?? failedScore), reason: fields[1] ?? "failed" };
    if (completedScore !== null) return { state: "completed" };
    return { state: "live" };
  });
}

/** One pass; returns how many tasks and alerts it repaired. */
export async function reconcileOnce(deps: Deps, options: { graceMs?: number } = {}): Promise<number> {
  const before = new Date(deps.now().getTime() - (options.graceMs ?? GRACE_MS));
  const prefix = deps.config.redisPrefix;
  let repaired = 0;

  let cursor = 0n;
  for (;;) {
    const tasks = await deps.prisma.syncTask.findMany({
      where: { state: { in: [...inQueueStates] }, updatedAt: { lt: before }, id: { gt: cursor } },
      select: { id: true, kind: true, state: true, updatedAt: true },
      orderBy: { id: "asc" },
      take: BATCH,
    });
    if (!tasks.length) break;
    cursor = tasks[tasks.length - 1]!.id;
    const jobIds = tasks.map((t) => taskJobId(t.kind as SyncTaskKind, t.id));
    const presence = await jobPresence(deps.redis, prefix, TEACHER_RECORDS_QUEUE, jobIds);
    for (const [index, task] of tasks.entries()) {
      const found = presence[index]!;
      if (found.state === "missing" || found.state === "completed") {
        if (await handBack(deps.prisma, task)) repaired++;
      } else if (found.state === "failed") {
        if (found.finishedOn < task.updatedAt.getTime()) {
          // the row changed after the job failed (a retry that could not replace it): dispatch again
          if (await handBack(deps.prisma, task)) repaired++;
          continue;
        }
        const classified = classifyFailureReason(found.reason);
        const recorded = await recordLostFailure(deps.prisma, {
          taskId: task.id,
          error: { errorClass: classified.errorClass.name, httpStatus: null, errorCode: null, message: classified.message },
          now: deps.now(),
          jobId: jobIds[index]!,
          jobName: jobNames[task.kind as SyncTaskKind],
          onlyIfUpdatedAt: task.updatedAt,
        });
        if (recorded) repaired++;
      }
    }
    if (tasks.length < BATCH) break;
  }

  repaired += await reconcileAlerts(deps, before);
  if (repaired) deps.logger.warn({ repaired }, "reconciler: repaired work that Postgres and Redis disagreed about");
  return repaired;
}

async function reconcileAlerts(deps: Deps, before: Date): Promise<number> {
  const prefix = deps.config.redisPrefix;
  const alerts = await deps.prisma.alert.findMany({
    where: { state: "queued", updatedAt: { lt: before } },
    select: { id: true, updatedAt: true },
    take: BATCH,
  });
  if (!alerts.length) return 0;
  const jobIds = alerts.map((a) => alertJobId(a.id));
  const presence = await jobPresence(deps.redis, prefix, ALERTS_QUEUE, jobIds);
  let repaired = 0;
  for (const [index, alert] of alerts.entries()) {
    const found = presence[index]!;
    if (
      found.state === "missing" ||
      found.state === "completed" ||
      (found.state === "failed" && found.finishedOn < alert.updatedAt.getTime())
    ) {
      const { count } = await deps.prisma.alert.updateMany({
        where: { id: alert.id, state: "queued", updatedAt: alert.updatedAt },
        data: { state: "pending" },
      });
      repaired += count;
    } else if (found.state === "failed") {
      if (await recordAlertFailure(deps.prisma, { alertId: alert.id, updatedAt: alert.updatedAt })) repaired++;
    }
  }
  return repaired;
}

export function startReconciler(deps: Deps): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = reconcileOnce(deps)
      .catch((error) => deps.logger.warn({ err: (error as Error).message }, "reconcile failed; will try again"))
      .finally(() => (running = null));
  }, deps.config.reconcileIntervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
