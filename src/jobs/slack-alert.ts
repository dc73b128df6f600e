/**
 * slack-alert (queue `alerts`): sends one stored alert to Slack. Alerts are written to Postgres
 * first (raiseAlert), with a unique key, and marked sent once Slack accepted them: a Slack outage
 * delays an alert without losing it or failing the poll that raised it, and no alert is sent
 * twice. Without SLACK_WEBHOOK_URL the alert is logged at warn level instead.
 */
import { z } from "zod";
import type { Job } from "bullmq";
import type { Deps, Db } from "../deps.js";
import type { Prisma } from "../generated/prisma/client.js";
import type { SlackClient } from "../clients/slack.js";
import type { RetryPolicy } from "./job.js";

export const slackAlertPayload = z.object({ alertId: z.string().regex(/^\d+$/) });

/** Slack may be down for a while: keep trying for about a day. */
export const slackAlertRetry: RetryPolicy = { attempts: 25, baseDelayMs: 10_000, maxDelayMs: 3_600_000 };

export async function raiseAlert(
  db: Db | Prisma.TransactionClient,
  alert: { dedupeKey: string; kind: string; traineeId?: string; text: string; details?: Prisma.InputJsonValue },
): Promise<void> {
  await db.alert.upsert({
    where: { dedupeKey: alert.dedupeKey },
    create: {
      dedupeKey: alert.dedupeKey,
      kind: alert.kind,
      traineeId: alert.traineeId ?? null,
      text: alert.text,
      ...(alert.details !== undefined ? { details: alert.details } : {}),
    },
    update: {},
  });
}

/**
 * The alert's job failed for good (Slack refused it for about a day, or its job was lost to a
 * failure nobody recorded): the alert is marked failed so the dashboard overview shows it, instead
 * of sitting queued forever. Only an alert still queued moves; `updatedAt` fences a stale caller.
 */
export async function recordAlertFailure(db: Db, options: { alertId: bigint; updatedAt?: Date }): Promise<boolean> {
  const { count } = await db.alert.updateMany({
    where: { id: options.alertId, state: "queued", ...(options.updatedAt ? { updatedAt: options.updatedAt } : {}) },
    data: { state: "failed" },
  });
  return count === 1;
}

export async function handleSlackAlert(options: { deps: Deps; slack: SlackClient | null; job: Job }): Promise<string> {
  const { deps, slack, job } = options;
  const { alertId } = slackAlertPayload.parse(job.data);
  const alert = await deps.prisma.alert.findUnique({ where: { id: BigInt(alertId) } });
  if (!alert) return "alert no longer exists";
  if (alert.state === "sent") return "already sent";
  await deps.prisma.alert.update({ where: { id: alert.id }, data: { attempts: { increment: 1 } } });
  const link = (alert.details as { link?: string } | null)?.link;
  if (slack) {
    await slack.post({ text: alert.text, ...(link ? { link: { url: link, label: "Open the trainee in the support dashboard" } } : {}) });
  } else {
    deps.logger.warn({ alertId, kind: alert.kind, alert: alert.text, link }, "alert (SLACK_WEBHOOK_URL is not set)");
  }
  await deps.prisma.alert.update({ where: { id: alert.id }, data: { state: "sent", sentAt: deps.now() } });
  return slack ? "sent to Slack" : "logged";
}
