/**
 * The reconciler (worker process): Postgres is the source of truth and Redis keeps nothing on disk,
 * so it looks for work that Postgres says is in BullMQ (queued or running) but that Redis no
 * longer has, and hands it back to the dispatcher. A Redis wipe costs time, not data.
 */
import type { Redis } from "ioredis";
import type { Deps } from "../deps.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";
import { alertJobId, ALERTS_QUEUE, taskJobId, TEACHER_RECORDS_QUEUE } from "./queues.js";

/** Rows younger than this may still be between the dispatcher's add and its commit. */
const GRACE_MS = 10_000;
const BATCH = 1_000;

async function missingJobKeys(redis: Redis, keys: string[]): Promise<Set<number>> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.exists(key);
  const results = (await pipeline.exec()) ?? [];
  const missing = new Set<number>();
  results.forEach(([error, exists], index) => {
    if (error) throw error;
    if (exists === 0) missing.add(index);
  });
  return missing;
}

/** One pass; returns how many tasks and alerts were handed back to the dispatcher. */
export async function reconcileOnce(deps: Deps, options: { graceMs?: number } = {}): Promise<number> {
  const before = new Date(deps.now().getTime() - (options.graceMs ?? GRACE_MS));
  const prefix = deps.config.redisPrefix;
  let restored = 0;

  let cursor = 0n;
  for (;;) {
    const tasks = await deps.prisma.syncTask.findMany({
      where: { state: { in: ["queued", "running"] }, updatedAt: { lt: before }, id: { gt: cursor } },
      select: { id: true, kind: true, state: true, updatedAt: true },
      orderBy: { id: "asc" },
      take: BATCH,
    });
    if (!tasks.length) break;
    cursor = tasks[tasks.length - 1]!.id;
    const missing = await missingJobKeys(
      deps.redis,
      tasks.map((t) => `${prefix}:${TEACHER_RECORDS_QUEUE}:${taskJobId(t.kind as SyncTaskKind, t.id)}`),
    );
    for (const index of missing) {
      const task = tasks[index]!;
      // Only if nothing touched the row since we read it (a worker may just have finished it).
      const { count } = await deps.prisma.syncTask.updateMany({
        where: { id: task.id, state: task.state, updatedAt: task.updatedAt },
        data: { state: "pending" },
      });
      restored += count;
    }
    if (tasks.length < BATCH) break;
  }

  const alerts = await deps.prisma.alert.findMany({
    where: { state: "queued", updatedAt: { lt: before } },
    select: { id: true, updatedAt: true },
    take: BATCH,
  });
  if (alerts.length) {
    const missing = await missingJobKeys(
      deps.redis,
      alerts.map((a) => `${prefix}:${ALERTS_QUEUE}:${alertJobId(a.id)}`),
    );
    for (const index of missing) {
      const alert = alerts[index]!;
      const { count } = await deps.prisma.alert.updateMany({
        where: { id: alert.id, state: "queued", updatedAt: alert.updatedAt },
        data: { state: "pending" },
      });
      restored += count;
    }
  }
  if (restored) deps.logger.warn({ restored }, "reconciler: work missing from Redis handed back to the dispatcher");
  return restored;
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
