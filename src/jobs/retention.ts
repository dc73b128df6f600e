/**
 * The daily retention job: history that no longer explains anything is deleted, so that the
 * tables, the head-task query and the dashboard stay fast year after year.
 *
 * Older than RETENTION_PERIOD (default 18 months), and only then:
 * - finished tasks (succeeded, cancelled), except each trainee's latest finished task of each
 *   kind (the registration that got the TRN, the last update, the award stay);
 * - timeline events, except the events of a task still kept and each trainee's latest event of
 *   each kind (the TRN received, the last change accepted, a discard or a correction stay);
 * - alerts already sent or given up;
 * - events for the upstream application already sent (unsent ones stay, however old);
 * - TRS webhook messages received (their ce-ids guard against replays; a signature that old is refused anyway).
 * Expired dashboard sessions go whatever their age. Nothing else is deleted: trainees, TRN
 * requests, unfinished or failed work, the payload hashes, and the audit log are kept for ever.
 *
 * The timeline is append-only: its trigger refuses every UPDATE and every DELETE except inside a
 * transaction that set `trs_sync.retention`, which only this file does. Each run leaves an entry
 * in the audit log with what it deleted. Deletes go in batches of short transactions, so a run
 * never holds long locks, and a run cut short leaves nothing half-done (the next run carries on).
 */
import { Queue, Worker } from "bullmq";
import type { Deps, Db } from "../deps.js";
import { recordAudit } from "../audit.js";

export const MAINTENANCE_QUEUE = "maintenance";
export const RETENTION_JOB = "retention";
const schedulerId = "retention-daily";
/** 03:00 in England, when nobody is syncing. */
const schedule = { pattern: "0 3 * * *", tz: "Europe/London" };
const batchSize = 5_000;

export interface RetentionReport {
  cutoff: Date;
  tasks: number;
  events: number;
  alerts: number;
  /** sent events for the upstream application */
  upstreamWebhooks: number;
  /** TRS webhook messages remembered by ce-id */
  trsWebhookMessages: number;
  sessions: number;
}

/** Deletes what is past the retention period; `periodMs` null keeps history and only drops expired sessions. */
export async function runRetention(options: { db: Db; now: Date; periodMs: number | null; actor?: string }): Promise<RetentionReport> {
  const { db, now } = options;
  const sessions = (await db.dashboardSession.deleteMany({ where: { expiresAt: { lt: now } } })).count;
  const cutoff = new Date(now.getTime() - (options.periodMs ?? now.getTime()));
  const report: RetentionReport = { cutoff, tasks: 0, events: 0, alerts: 0, upstreamWebhooks: 0, trsWebhookMessages: 0, sessions };
  if (options.periodMs !== null) {
    report.tasks = await deleteFinishedTasks(db, cutoff);
    report.events = await deleteEvents(db, cutoff);
    report.alerts = (await db.alert.deleteMany({ where: { state: { in: ["sent", "failed"] }, updatedAt: { lt: cutoff } } })).count;
    report.upstreamWebhooks = await deleteSentUpstreamWebhooks(db, cutoff);
    report.trsWebhookMessages = await deleteTrsWebhookMessages(db, cutoff);
  }
  await recordAudit(db, {
    actor: options.actor ?? "system:retention",
    action: "retention",
    targets: [],
    result:
      options.periodMs === null
        ? `ok: RETENTION_PERIOD off; deleted ${sessions} expired sessions`
        : `ok: deleted ${report.tasks} finished tasks, ${report.events} timeline events, ${report.alerts} alerts older than ` +
          `${cutoff.toISOString()}, ${report.upstreamWebhooks} sent upstream webhooks, ${report.trsWebhookMessages} TRS webhook messages, and ${sessions} expired sessions`,
    details: { ...report, cutoff: cutoff.toISOString() },
  });
  return report;
}

async function deleteFinishedTasks(db: Db, cutoff: Date): Promise<number> {
  let deleted = 0;
  let after = 0n;
  for (;;) {
    // one id range at a time, walking the primary key: a batch costs the same on the first run and the hundredth
    const [range] = await db.$queryRaw<{ last: bigint | null }[]>`
      SELECT max(id) AS last FROM (SELECT id FROM sync_tasks WHERE id > ${after} ORDER BY id LIMIT ${batchSize}) batch`;
    if (range?.last == null) return deleted;
    deleted += await db.$executeRaw`
      DELETE FROM sync_tasks t
      WHERE t.id > ${after} AND t.id <= ${range.last}
        AND t.state IN ('succeeded', 'cancelled') AND coalesce(t.finished_at, t.updated_at) < ${cutoff}
        AND EXISTS (SELECT 1 FROM sync_tasks later
                    WHERE later.trainee_id = t.trainee_id AND later.kind = t.kind AND later.id > t.id
                      AND later.state IN ('succeeded', 'cancelled'))`;
    after = range.last;
  }
}

async function deleteSentUpstreamWebhooks(db: Db, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    // in batches, so a first run over a large table holds no long lock
    const count = await db.$executeRaw`
      DELETE FROM upstream_webhooks WHERE id IN (
        SELECT id FROM upstream_webhooks WHERE state = 'sent' AND sent_at < ${cutoff} LIMIT ${batchSize})`;
    deleted += count;
    if (count < batchSize) return deleted;
  }
}

async function deleteTrsWebhookMessages(db: Db, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    // ids grow with time: the oldest first, in batches
    const count = await db.$executeRaw`
      DELETE FROM trs_webhook_messages WHERE id IN (
        SELECT id FROM trs_webhook_messages WHERE received_at < ${cutoff} ORDER BY id LIMIT ${batchSize})`;
    deleted += count;
    if (count < batchSize) return deleted;
  }
}

/** The highest event id created before the cutoff (ids grow with time): a binary search on the primary key. */
async function lastEventBefore(db: Db, cutoff: Date): Promise<bigint | null> {
  const [bounds] = await db.$queryRaw<
    { low: bigint | null; high: bigint | null }[]
  >`SELECT min(id) AS low, max(id) AS high FROM sync_events`;
  if (bounds?.low == null || bounds.high == null) return null;
  const firstAtOrAfter = async (id: bigint) =>
    (
      await db.$queryRaw<{ id: bigint; createdAt: Date }[]>`
      SELECT id, created_at AS "createdAt" FROM sync_events WHERE id >= ${id} ORDER BY id LIMIT 1`
    )[0];
  let low = bounds.low;
  let high = bounds.high;
  const first = await firstAtOrAfter(low);
  if (!first || first.createdAt >= cutoff) return null;
  // invariant: the event at or after `low` is older than the cutoff; answer in [low, high]
  while (low < high) {
    const middle = (low + high + 1n) / 2n;
    const event = await firstAtOrAfter(middle);
    if (event && event.createdAt < cutoff) low = event.id;
    else high = middle - 1n;
  }
  return low;
}

async function deleteEvents(db: Db, cutoff: Date): Promise<number> {
  const last = await lastEventBefore(db, cutoff);
  if (last === null) return 0;
  let deleted = 0;
  let after = 0n;
  while (after < last) {
    const upTo = after + BigInt(batchSize) < last ? after + BigInt(batchSize) : last;
    deleted += await db.$transaction(async (tx) => {
      // the one way past the timeline's append-only trigger (prisma/functions.sql)
      await tx.$executeRaw`SELECT set_config('trs_sync.retention', 'on', true)`;
      return tx.$executeRaw`
        DELETE FROM sync_events e
        WHERE e.id > ${after} AND e.id <= ${upTo} AND e.created_at < ${cutoff}
          AND (e.task_id IS NULL OR NOT EXISTS (SELECT 1 FROM sync_tasks t WHERE t.id = e.task_id))
          AND EXISTS (SELECT 1 FROM sync_events later
                      WHERE later.trainee_id = e.trainee_id AND later.kind = e.kind AND later.id > e.id)`;
    });
    after = upTo;
  }
  return deleted;
}

/** In the worker process: the daily schedule (one for all workers: BullMQ keeps one scheduler per id) and its worker. */
export async function startRetention(deps: Deps): Promise<{ stop(): Promise<void> }> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: deps.redis, prefix: deps.config.redisPrefix });
  queue.on("error", () => {});
  await queue.upsertJobScheduler(schedulerId, schedule, {
    name: RETENTION_JOB,
    opts: { attempts: 3, backoff: { type: "exponential", delay: 60_000 }, removeOnComplete: { count: 30 }, removeOnFail: { count: 30 } },
  });
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async () => {
      const report = await runRetention({ db: deps.prisma, now: deps.now(), periodMs: deps.config.retentionPeriodMs });
      deps.logger.info({ ...report }, "retention done");
      return { ...report, cutoff: report.cutoff.toISOString() };
    },
    { connection: deps.newRedis("worker"), prefix: deps.config.redisPrefix, concurrency: 1 },
  );
  worker.on("error", (error) => deps.logger.warn({ err: error.message, queue: MAINTENANCE_QUEUE }, "worker error"));
  worker.on("failed", (_job, error) => deps.logger.error({ err: error.message }, "retention failed"));
  return {
    async stop() {
      await worker.close();
      await queue.close();
    },
  };
}
