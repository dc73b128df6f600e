/**
 * The sender of events for the upstream application (worker process). The rows are written by
 * triggers in the transaction of each fact (prisma/functions.sql); this loop POSTs them, signed
 * (clients/upstream-webhooks.ts).
 *
 * Each pass claims due rows with FOR UPDATE SKIP LOCKED, only a trainee's first unsent row (so a
 * trainee's events arrive in order: a later one waits while an earlier one is retried), and
 * leases them (next_attempt_at moves past the POST's timeout) before it sends, so a second sender
 * skips them. The outcome is recorded only by the claim that sent (attempts is its fence). A 2xx
 * marks the row sent; anything else retries it with exponential backoff up to the cap, for ever.
 * A sender killed mid-POST leaves its lease to expire: the event is sent again (at least once;
 * receivers dedupe on webhook-id).
 */
import type { Deps } from "../deps.js";
import { postUpstreamWebhook, upstreamWebhookBody } from "../clients/upstream-webhooks.js";

const BATCH = 50;

interface ClaimedRow {
  id: bigint;
  eventId: string;
  type: string;
  createdAt: Date;
  payload: unknown;
  attempts: number;
}

/** Delay before attempt `attempts + 1` after `attempts` failed ones: doubling from base, capped. */
export function upstreamWebhookRetryDelay(settings: { retryBaseMs: number; retryMaxMs: number }, attempts: number): number {
  return Math.min(settings.retryBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30), settings.retryMaxMs);
}

/** One pass: claims and sends one batch; returns how many rows it attempted (0: nothing due). */
export async function sendUpstreamWebhooksOnce(deps: Deps): Promise<number> {
  const settings = deps.config.upstreamWebhooks;
  if (!settings) return 0;
  const now = deps.now();
  // the lease outlasts the POST, so nobody else takes the row while it is in flight
  const leaseEnd = new Date(now.getTime() + settings.timeoutMs * 2 + 5_000);
  const rows = await deps.prisma.$queryRaw<ClaimedRow[]>`
    WITH due AS (
      SELECT w.id FROM upstream_webhooks w
      WHERE w.state IN ('pending', 'failed') AND w.next_attempt_at <= ${now}
        AND NOT EXISTS (SELECT 1 FROM upstream_webhooks earlier
                        WHERE earlier.trainee_id = w.trainee_id AND earlier.state IN ('pending', 'failed') AND earlier.id < w.id)
      ORDER BY w.id
      LIMIT ${BATCH}
      FOR UPDATE OF w SKIP LOCKED)
    UPDATE upstream_webhooks w SET attempts = w.attempts + 1, next_attempt_at = ${leaseEnd}
    FROM due WHERE w.id = due.id
    RETURNING w.id, w.event_id::text AS "eventId", w.type, w.created_at AS "createdAt", w.payload, w.attempts`;
  await Promise.all(
    rows.map(async (row) => {
      const problem = await postUpstreamWebhook({
        url: settings.url,
        secret: settings.secret,
        id: row.eventId,
        body: upstreamWebhookBody(row),
        now: deps.now(),
        timeoutMs: settings.timeoutMs,
      });
      const at = deps.now();
      if (problem === null) {
        await deps.prisma.upstreamWebhook.updateMany({
          where: { id: row.id, attempts: row.attempts },
          data: { state: "sent", sentAt: at, lastError: null },
        });
      } else {
        deps.logger.warn(
          { eventId: row.eventId, type: row.type, attempts: row.attempts, problem },
          "upstream webhook not accepted; retrying later",
        );
        await deps.prisma.upstreamWebhook.updateMany({
          where: { id: row.id, attempts: row.attempts },
          data: {
            state: "failed",
            lastError: problem,
            nextAttemptAt: new Date(at.getTime() + upstreamWebhookRetryDelay(settings, row.attempts)),
          },
        });
      }
    }),
  );
  return rows.length;
}

/**
 * Tells the triggers whether to record events (the one row of upstream_webhook_settings): on when
 * this worker's UPSTREAM_WEBHOOK_URL is set, off otherwise. Every process's writes follow it, so a
 * web process or the CLI without the sender's settings still records the facts it writes. Run by the
 * worker at start.
 */
export async function recordUpstreamWebhookSetting(deps: Pick<Deps, "prisma" | "config" | "now">): Promise<boolean> {
  const enabled = deps.config.upstreamWebhooks !== null;
  const updatedAt = deps.now();
  await deps.prisma.upstreamWebhookSetting.upsert({
    where: { id: true },
    create: { id: true, enabled, updatedAt },
    update: { enabled, updatedAt },
  });
  return enabled;
}

/** Starts the sending loop when UPSTREAM_WEBHOOK_URL is set; `kick` runs a pass now. */
export function startUpstreamWebhookSender(deps: Deps): { stop(): Promise<void>; kick(): void } {
  const settings = deps.config.upstreamWebhooks;
  if (!settings) return { stop: async () => {}, kick: () => {} };
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const loop = async () => {
    try {
      // drain: each sent row may make the trainee's next one due
      while (!stopped && (await sendUpstreamWebhooksOnce(deps)) > 0);
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, "upstream webhook pass failed; events stay in Postgres");
    }
  };
  const kick = () => {
    if (stopped || running) return;
    if (timer) clearTimeout(timer);
    running = loop().finally(() => {
      running = null;
      if (!stopped) timer = setTimeout(kick, settings.intervalMs);
    });
  };
  kick();
  return {
    kick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
