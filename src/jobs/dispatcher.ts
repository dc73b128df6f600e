/**
 * The outbox dispatcher (worker process): moves each trainee's head task from Postgres into
 * BullMQ, and pending alerts into the alerts queue.
 *
 * It wakes on Postgres NOTIFY (a trigger fires when tasks are added or change state, see
 * prisma/functions.sql), so new work reaches BullMQ within milliseconds, and also every few
 * seconds in case a notification was missed. Rows are claimed with FOR UPDATE SKIP LOCKED and
 * jobs have deterministic ids, so two dispatchers never create a job twice. While Redis is down
 * the rows simply stay pending and the API keeps accepting changes.
 */
import pg from "pg";
import type { Deps } from "../deps.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";
import { alertJobId, jobNames, SLACK_ALERT_JOB, taskJobId, type Queues } from "./queues.js";
import { blockingStates, markQueued } from "../trainees/sync-tasks.js";
import { ensureJob } from "./enqueue.js";
import { withTraceparent } from "../trace-context.js";
import { syncJobs } from "./registry.js";
import { slackAlertRetry } from "./slack-alert.js";

const BATCH = 500;
const FALLBACK_INTERVAL_MS = 5_000;
export const DISPATCH_CHANNEL = "trs_sync_dispatch";

interface HeadRow {
  id: bigint;
  kind: SyncTaskKind;
  slug: string;
  available_at: Date;
  trace_context: string | null;
}

/** One pass: dispatches every head task and pending alert; returns how many it handed to BullMQ. */
export async function dispatchOnce(deps: Deps, queues: Queues): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await dispatchTaskBatch(deps, queues);
    total += count;
    if (count < BATCH) break;
  }
  total += await dispatchAlerts(deps, queues);
  return total;
}

async function dispatchTaskBatch(deps: Deps, queues: Queues): Promise<number> {
  return deps.prisma.$transaction(
    async (tx) => {
      // A head task: pending, with nothing unfinished before it in its trainee's line.
      const heads = await tx.$queryRaw<HeadRow[]>`
        SELECT t.id, t.kind::text AS kind, tr.slug, t.available_at, t.trace_context
        FROM sync_tasks t JOIN trainees tr ON tr.id = t.trainee_id
        WHERE t.state = 'pending'
          AND NOT EXISTS (
            SELECT 1 FROM sync_tasks o
            WHERE o.trainee_id = t.trainee_id
              AND o.state = ANY(CAST(${[...blockingStates]} AS "SyncTaskState"[]))
              AND (o.phase < t.phase OR (o.phase = t.phase AND o.id < t.id)))
        ORDER BY t.id
        LIMIT ${BATCH}
        FOR UPDATE OF t SKIP LOCKED`;
      if (!heads.length) return 0;
      const now = deps.now().getTime();
      for (const head of heads) {
        // inside the trace of the change that made the task (bullmq-otel carries it into the job)
        await withTraceparent(head.trace_context, () =>
          ensureJob({
            queue: queues.teacherRecords,
            name: jobNames[head.kind],
            jobId: taskJobId(head.kind, head.id),
            data: { slug: head.slug, taskId: String(head.id) },
            delayMs: head.available_at.getTime() - now,
            retry: syncJobs[head.kind].retry,
          }),
        );
      }
      await markQueued(
        tx,
        heads.map((h) => h.id),
      );
      return heads.length;
    },
    { timeout: 60_000 },
  );
}

async function dispatchAlerts(deps: Deps, queues: Queues): Promise<number> {
  return deps.prisma.$transaction(async (tx) => {
    const alerts = await tx.$queryRaw<{ id: bigint }[]>`
      SELECT id FROM alerts WHERE state = 'pending' ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
    for (const alert of alerts) {
      await ensureJob({
        queue: queues.alerts,
        name: SLACK_ALERT_JOB,
        jobId: alertJobId(alert.id),
        data: { alertId: String(alert.id) },
        delayMs: 0,
        retry: slackAlertRetry,
      });
    }
    if (alerts.length) {
      await tx.alert.updateMany({ where: { id: { in: alerts.map((a) => a.id) }, state: "pending" }, data: { state: "queued" } });
    }
    return alerts.length;
  });
}

export interface Dispatcher {
  /** resolves after the current pass */
  stop(): Promise<void>;
  /** runs a pass now (tests and the reconciler) */
  kick(): void;
}

/** Starts the LISTEN connection and the dispatch loop. */
export async function startDispatcher(deps: Deps, queues: Queues): Promise<Dispatcher> {
  let stopped = false;
  let wanted = true;
  let running: Promise<void> | null = null;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let listener: pg.Client | null = null;

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(kick, ms);
  };
  const loop = async () => {
    while (wanted && !stopped) {
      wanted = false;
      try {
        const count = await dispatchOnce(deps, queues);
        if (count) deps.logger.debug({ count }, "dispatched");
        failures = 0;
      } catch (error) {
        failures++;
        const backoff = Math.min(500 * 2 ** failures, 30_000);
        deps.logger.warn({ err: (error as Error).message, retryInMs: backoff }, "dispatch failed; work stays in Postgres");
        schedule(backoff);
        return;
      }
    }
    schedule(FALLBACK_INTERVAL_MS);
  };
  function kick() {
    wanted = true;
    if (!running && !stopped) running = loop().finally(() => (running = null));
  }

  const reconnectLater = () => {
    if (!stopped) setTimeout(() => void connectListener().catch(reconnectLater), 2_000);
  };
  const connectListener = async () => {
    const client = new pg.Client({ connectionString: deps.config.databaseUrl });
    client.on("notification", () => kick());
    client.on("error", (error) => {
      deps.logger.warn({ err: error.message }, "dispatcher LISTEN connection lost; reconnecting");
      listener = null;
      void client.end().catch(() => {});
      reconnectLater();
    });
    await client.connect();
    await client.query(`LISTEN ${DISPATCH_CHANNEL}`);
    listener = client;
    kick(); // whatever arrived while not listening
  };
  try {
    await connectListener();
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message }, "dispatcher could not LISTEN yet; polling every few seconds meanwhile");
    reconnectLater();
  }
  kick();

  return {
    kick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await listener?.end().catch(() => {});
    },
  };
}
