/**
 * `POST /webhooks/trs`: TRS tells us a TRN request completed (CloudEvents 1.0 in HTTP binary mode,
 * `ce-type` `trn_request.completed` or `ping`), signed per RFC 9421 (trs-webhook-verify.ts).
 *
 * A verified message is recorded by its `ce-id` (trs_webhook_messages) before it acts, so a
 * retry or a replay is answered 200 and does nothing. A completed request we know settles through
 * settleTrnAnswer, as a poll's answer does; the poll task waiting on it is run now and finds the
 * TRN stored (no call to TRS). Polling stays as the fallback for a lost message.
 */
import express, { Router, type Request } from "express";
import { z } from "zod";
import type { Deps } from "../deps.js";
import { Prisma, type SyncTask } from "../generated/prisma/client.js";
import { queueControl } from "../jobs/enqueue.js";
import type { Queues } from "../jobs/queues.js";
import { SyncError } from "../errors.js";
import { settleTrnAnswer } from "../trainees/receive-trn.js";
import { openTrnRequestStates } from "../trainees/trn-requests.js";
import { notStartedStates, runNotBefore } from "../trainees/sync-tasks.js";
import type { QueueControl } from "../trainees/support-actions.js";
import { remoteWebhookKeys, verifyWebhookMessage, type WebhookKeyLookup } from "./trs-webhook-verify.js";

const completedBody = z.object({
  trnRequest: z.object({
    requestId: z.string().min(1),
    trn: z.string().nullish(),
    status: z.string(),
    potentialDuplicate: z.boolean().nullish(),
  }),
});

export type WebhookOutcome = "settled" | "already_settled" | "unknown_request" | "closed" | "polled" | "conflict" | "ignored" | "duplicate";

export function trsWebhookRoutes(deps: Deps, queues: Queues, options: { keys?: WebhookKeyLookup } = {}): Router {
  const router = Router();
  const keys = options.keys ?? remoteWebhookKeys({ jwksUrl: `${deps.config.api.baseUrl.replace(/\/$/, "")}/webhook-jwks` });
  const queue = queueControl(queues);
  // the raw bytes, for the digest: no JSON parser runs before this
  router.post("/webhooks/trs", express.raw({ type: () => true, limit: "64kb" }), async (req, res, next) => {
    try {
      if (!deps.config.trsWebhooks) return void res.status(404).json({ error: "not found" });
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verdict = await verifyWebhookMessage({ url: targetUri(deps, req), headers: req.headers, body, keys });
      if (!verdict.ok && verdict.transient) {
        deps.logger.warn({ reason: verdict.reason, ceId: req.get("ce-id") }, "TRS webhook not verified yet: TRS's keys unavailable");
        return void res.status(503).set("retry-after", "30").json({ error: "cannot verify the signature now: send it again" });
      }
      if (!verdict.ok) {
        // never the body: it names a person's TRN
        deps.logger.warn({ reason: verdict.reason, ceId: req.get("ce-id"), ceType: req.get("ce-type") }, "TRS webhook refused");
        return void res.status(401).json({ error: "signature not accepted" });
      }
      const outcome = await receiveWebhookMessage({
        deps,
        queue,
        ceId: req.get("ce-id")!,
        type: req.get("ce-type")!,
        body,
      });
      deps.logger.info({ ceId: req.get("ce-id"), ceType: req.get("ce-type"), outcome }, "TRS webhook received");
      res.status(200).json({ outcome });
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/**
 * The URL TRS sent the message to, as it signed it (`@target-uri`): under PUBLIC_BASE_URL when that
 * is set (a proxy rewriting Host or ending TLS changes nothing, and a client's Host header chooses
 * nothing); otherwise the URL the request reached, its host and scheme through TRUST_PROXY.
 */
function targetUri(deps: Deps, req: Request): string {
  const base = deps.config.publicBaseUrlGiven;
  if (base) return `${base}${req.originalUrl}`;
  return `${req.protocol}://${req.get("host") ?? ""}${req.originalUrl}`;
}

/**
 * A verified message: recorded once by its ce-id, then acted on. If acting fails the record goes
 * again, so that TRS's retry is not taken for a replay; a record left `received` (the process died,
 * or Postgres went, between the two) is acted on again by the retry: settling is idempotent.
 */
export async function receiveWebhookMessage(options: {
  deps: Deps;
  queue?: QueueControl;
  ceId: string;
  type: string;
  body: Buffer;
}): Promise<WebhookOutcome> {
  const { deps, ceId, type } = options;
  const parsed = type === "trn_request.completed" ? completedBody.safeParse(safeJson(options.body)) : undefined;
  const requestId = parsed?.success ? parsed.data.trnRequest.requestId : null;
  try {
    await deps.prisma.trsWebhookMessage.create({ data: { ceId, type, requestId, outcome: "received", receivedAt: deps.now() } });
  } catch (error) {
    if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")) throw error;
    const seen = await deps.prisma.trsWebhookMessage.findUnique({ where: { ceId } });
    if (seen && seen.outcome !== "received") return "duplicate";
  }
  let outcome: WebhookOutcome;
  try {
    outcome = parsed?.success ? await settle({ ...options, info: parsed.data.trnRequest }) : "ignored";
  } catch (error) {
    await deps.prisma.trsWebhookMessage.deleteMany({ where: { ceId, outcome: "received" } }).catch(() => undefined);
    throw error;
  }
  await deps.prisma.trsWebhookMessage.update({ where: { ceId }, data: { outcome } });
  return outcome;
}

/**
 * Only a request still open is settled, as a poll would (a discarded trainee's, a superseded or a
 * timed-out request is left alone: support's extend or re-submit polls again). Only a completion is
 * taken from the message; any other status brings the poll forward, so that TRS is asked and a
 * rejection fails the poll task where support sees it, with its remediation.
 */
async function settle(options: {
  deps: Deps;
  queue?: QueueControl;
  ceId: string;
  info: z.infer<typeof completedBody>["trnRequest"];
}): Promise<WebhookOutcome> {
  const { deps, info } = options;
  const request = await deps.prisma.trnRequest.findUnique({ where: { requestId: info.requestId } });
  if (!request) return "unknown_request";
  const poll = await deps.prisma.syncTask.findFirst({ where: { trnRequestId: request.id, kind: "poll_trn" }, orderBy: { id: "desc" } });
  if (request.state === "received") {
    await pollNow(options, poll); // a settlement cut short before its poll was brought forward
    return "already_settled";
  }
  if (!(openTrnRequestStates as readonly string[]).includes(request.state)) return "closed";
  const status = info.status.toLowerCase();
  if (status !== "completed" || !info.trn) {
    await deps.prisma.trnRequest.updateMany({
      where: { id: request.id, state: { in: [...openTrnRequestStates] } },
      data: { nextPollAt: deps.now() },
    });
    await pollNow(options, poll);
    return "polled";
  }
  const result = {
    requestId: info.requestId,
    status: "completed" as const,
    trn: info.trn,
    potentialDuplicate: info.potentialDuplicate ?? false,
    raw: { trnRequest: info },
  };
  let settled: boolean;
  try {
    settled = await settleTrnAnswer({
      deps,
      traineeId: request.traineeId,
      request,
      result,
      jobName: "trs-webhook",
      jobId: options.ceId,
      ...(poll ? { taskId: poll.id } : {}),
      message: "TRN received by webhook",
    });
  } catch (error) {
    if (error instanceof SyncError && error.errorClassName === "trn_conflict") {
      deps.logger.warn({ ceId: options.ceId, requestId: request.requestId }, "TRS webhook TRN conflicts with the trainee's");
      return "conflict";
    }
    throw error;
  }
  if (!settled) return "ignored";
  // The poll waiting for this request runs now and finishes as a poll that found the TRN would:
  // it reads the request received and asks TRS nothing.
  await pollNow(options, poll);
  return "settled";
}

/** Brings the request's waiting poll task forward to now (Postgres first; BullMQ follows, or the dispatcher does). */
async function pollNow(options: { deps: Deps; queue?: QueueControl }, poll: SyncTask | null): Promise<void> {
  if (!poll || !(notStartedStates as readonly string[]).includes(poll.state)) return;
  await runNotBefore(options.deps.prisma as unknown as Parameters<typeof runNotBefore>[0], poll.id, options.deps.now());
  try {
    await options.queue?.runNow(poll);
  } catch {
    // the dispatcher brings BullMQ in line with Postgres
  }
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}
