/**
 * The outbox dispatcher (worker process): moves each trainee's head task from Postgres into
 * BullMQ, and pending alerts into the alerts queue.
 *
 * It wakes on Postgres NOTIFY (a trigger fires when tasks are added or change state, see
 * prisma/functions.sql), so new work reaches BullMQ within milliseconds, and also every few
 * seconds in case a notification was missed. A batch is marked queued and locked by one statement
 * (FOR UPDATE SKIP LOCKED) and committed only once its jobs are in BullMQ, and jobs have
 * deterministic ids, so two dispatchers never create a job twice. While Redis is down the rows
 * simply stay pending and the API keeps accepting changes. The statements go to the pg pool
 * directly (deps.pool), without the Prisma client.
 */
import pg from "pg";
import type { Deps } from "../deps.js";
import { alertJobId, jobNames, SLACK_ALERT_JOB, taskJobId, type Queues } from "./queues.js";
import { DISPATCH_TRANSACTION_MS, markHeadTasksQueued, wholeMs } from "../trainees/sync-tasks.js";
import { ensureJobs } from "./enqueue.js";
import { syncJobs } from "./registry.js";
import { slackAlertRetry } from "./slack-alert.js";

const BATCH = 500;
const FALLBACK_INTERVAL_MS = 5_000;
export const DISPATCH_CHANNEL = "trs_sync_dispatch";

export interface DispatchOptions {
  /** the longest a batch's transaction stays open while its jobs go to BullMQ (DISPATCH_TRANSACTION_MS) */
  transactionMs?: number;
}

/** One pass: dispatches every head task and pending alert; returns how many it handed to BullMQ. */
export async function dispatchOnce(deps: Deps, queues: Queues, options: DispatchOptions = {}): Promise<number> {
  const limitMs = options.transactionMs ?? DISPATCH_TRANSACTION_MS;
  let total = 0;
  for (;;) {
    const count = await dispatchTaskBatch(deps, queues, limitMs);
    total += count;
    if (count < BATCH) break;
  }
  total += await dispatchAlerts(deps, queues, limitMs);
  return total;
}

/**
 * Up to BATCH head tasks into BullMQ: one statement marks them queued and locks them, their jobs go
 * to BullMQ (ensureJobs: two round trips for new jobs), then COMMIT. Any failure rolls back, so
 * the tasks stay pending; a job added before the failure is found again by the next pass.
 */
async function dispatchTaskBatch(deps: Deps, queues: Queues, limitMs: number): Promise<number> {
  return inTransaction(deps, limitMs, async (client) => {
    const heads = await markHeadTasksQueued(client, { limit: BATCH, transactionMs: limitMs });
    const now = deps.now().getTime();
    await ensureJobs(
      queues.teacherRecords,
      heads.map((head) => ({
        name: jobNames[head.kind],
        jobId: taskJobId(head.kind, head.id),
        data: { slug: head.slug, taskId: String(head.id) },
        delayMs: head.availableAt.getTime() - now,
        retry: syncJobs[head.kind].retry,
        // the job continues the trace of the change that made the task (bullmq-otel carries it)
        traceparent: head.traceContext,
      })),
    );
    return heads.length;
  });
}

/** The same for pending alerts. */
async function dispatchAlerts(deps: Deps, queues: Queues, limitMs: number): Promise<number> {
  return inTransaction(deps, limitMs, async (client) => {
    // BEGIN in the same simple query: one round trip (see markHeadTasksQueued)
    const [, , update] = (await client.query(`BEGIN;
      SET LOCAL idle_in_transaction_session_timeout = ${wholeMs(limitMs)};
      UPDATE alerts SET state = 'queued', updated_at = statement_timestamp() AT TIME ZONE 'UTC'
      WHERE state = 'pending' AND id IN (
        SELECT id FROM alerts WHERE state = 'pending' ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING id::text AS id`)) as unknown as [pg.QueryResult, pg.QueryResult, pg.QueryResult<{ id: string }>];
    const ids = update.rows.map((row) => BigInt(row.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    await ensureJobs(
      queues.alerts,
      ids.map((id) => ({
        name: SLACK_ALERT_JOB,
        jobId: alertJobId(id),
        data: { alertId: String(id) },
        delayMs: 0,
        retry: slackAlertRetry,
      })),
    );
    return ids.length;
  });
}

/**
 * Runs `work` on one pooled connection; `work` opens the transaction (BEGIN travels with its first
 * statement). Commits only when `work` returns rows: an empty pass rolls back, so that the NOTIFY
 * its UPDATE fired (the trigger fires per statement, whether rows matched or not) is never
 * delivered and cannot wake the dispatcher again, forever. A committed batch wakes it once more,
 * and that pass finds nothing.
 */
async function inTransaction(deps: Deps, limitMs: number, work: (client: pg.PoolClient) => Promise<number>): Promise<number> {
  const client = await deps.pool.connect();
  let broken: Error | undefined;
  // a connection lost while checked out (waiting on Redis) emits 'error': without a listener that
  // would crash the process; the pending query fails instead, and the connection is dropped
  const onError = (error: Error) => (broken = error);
  client.on("error", onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    // a Redis that hangs without failing ends the pass here (Postgres ends the session too, at the
    // same time, with the transaction's idle timeout): the rows go back to pending, and a job added
    // late is found by the next pass's presence check
    const count = await Promise.race([
      work(client),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the dispatch pass took over ${limitMs} ms (Redis not answering?)`)), limitMs);
      }),
    ]);
    await client.query(count ? "COMMIT" : "ROLLBACK");
    return count;
  } catch (error) {
    // a connection that cannot even roll back is dropped from the pool, not reused mid-transaction
    await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
    client.release(broken ?? false);
  }
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
