/**
 * What support staff can do to a trainee's sync work, used by the CLI now and the dashboard later.
 * Every action leaves an event on the trainee's timeline.
 */
import type { Db } from "../deps.js";
import type { SyncTask } from "../generated/prisma/client.js";
import { recordEvent } from "./events.js";
import { enqueueSyncTask } from "./outbox.js";
import { openTrnRequest } from "./trn-requests.js";
import type { TrnPollConfig } from "./trn-schedule.js";

export class SupportActionError extends Error {}

async function traineeBySlug(db: Db, slug: string) {
  const trainee = await db.trainee.findUnique({ where: { slug } });
  if (!trainee) throw new SupportActionError(`no trainee with slug ${slug}`);
  return trainee;
}

/**
 * Restarts polling of the trainee's latest TRN request (timed out, or still pending) with a new
 * deadline `forMs` from now. Playbook: "kick off another polling job with a timeout in the future".
 */
export async function restartTrnPolling(options: { db: Db; slug: string; forMs: number; now: Date; actor: string }) {
  const { db, now } = options;
  const trainee = await traineeBySlug(db, options.slug);
  if (trainee.trn) throw new SupportActionError(`trainee ${trainee.slug} already has TRN ${trainee.trn}`);
  return db.$transaction(async (tx) => {
    const request = await tx.trnRequest.findFirst({
      where: { traineeId: trainee.id, state: { in: ["pending", "timed_out", "requested"] } },
      orderBy: { createdAt: "desc" },
    });
    if (!request) throw new SupportActionError(`trainee ${trainee.slug} has no TRN request to poll: re-submit for TRN instead`);
    const deadlineAt = new Date(now.getTime() + options.forMs);
    await tx.trnRequest.update({
      where: { id: request.id },
      data: { state: "pending", deadlineAt, nextPollAt: now, activeTraineeId: trainee.id, timedOutAt: null },
    });
    const poll = await tx.syncTask.findFirst({ where: { trnRequestId: request.id, kind: "poll_trn" }, orderBy: { id: "desc" } });
    if (poll && ["failed", "pending", "queued"].includes(poll.state)) {
      await tx.syncTask.update({
        where: { id: poll.id },
        data: { state: poll.state === "failed" ? "pending" : poll.state, availableAt: now },
      });
    } else if (!poll || poll.state !== "running") {
      await enqueueSyncTask(tx, { traineeId: trainee.id, kind: "poll_trn", now, trnRequestId: request.id });
    }
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trn_polling_restarted",
      outcome: "info",
      message: `${options.actor} restarted polling of request ${request.requestId} until ${deadlineAt.toISOString()}`,
      at: now,
    });
    return { requestId: request.requestId, deadlineAt };
  });
}

/**
 * Re-submits the trainee for a TRN: closes the current request and opens a new one (new request
 * id, deadline counted from now), ahead of any work waiting for the TRN.
 */
export async function resubmitForTrn(options: { db: Db; slug: string; now: Date; trnPoll: TrnPollConfig; actor: string }) {
  const { db, now } = options;
  const trainee = await traineeBySlug(db, options.slug);
  if (trainee.trn) throw new SupportActionError(`trainee ${trainee.slug} already has TRN ${trainee.trn}`);
  return db.$transaction(async (tx) => {
    await tx.trnRequest.updateMany({
      where: { traineeId: trainee.id, activeTraineeId: trainee.id },
      data: { activeTraineeId: null, state: "failed" },
    });
    await tx.syncTask.updateMany({
      where: { traineeId: trainee.id, kind: { in: ["register_for_trn", "poll_trn"] }, state: { in: ["pending", "failed"] } },
      data: { state: "cancelled", finishedAt: now },
    });
    const request = await openTrnRequest(tx, { traineeId: trainee.id, submittedAt: now, config: options.trnPoll });
    await enqueueSyncTask(tx, { traineeId: trainee.id, kind: "register_for_trn", now, trnRequestId: request.id });
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trn_resubmitted",
      outcome: "info",
      message: `${options.actor} re-submitted for TRN: new request ${request.requestId}, deadline ${request.deadlineAt.toISOString()}`,
      at: now,
    });
    return { requestId: request.requestId, deadlineAt: request.deadlineAt };
  });
}

/**
 * Retries a failed task, and first every failed task before it in the trainee's line (an award's
 * failed update runs first). Returns the tasks set to run again, in order.
 */
export async function retryTask(options: { db: Db; taskId: bigint; now: Date; actor: string }): Promise<SyncTask[]> {
  const { db, now } = options;
  return db.$transaction(async (tx) => {
    const task = await tx.syncTask.findUnique({ where: { id: options.taskId } });
    if (!task) throw new SupportActionError(`no task ${options.taskId}`);
    if (task.state !== "failed") throw new SupportActionError(`task ${task.id} is ${task.state}, not failed`);
    const failed = await tx.syncTask.findMany({
      where: {
        traineeId: task.traineeId,
        state: "failed",
        OR: [{ phase: { lt: task.phase } }, { phase: task.phase, id: { lte: task.id } }],
      },
      orderBy: [{ phase: "asc" }, { id: "asc" }],
    });
    await tx.syncTask.updateMany({ where: { id: { in: failed.map((t) => t.id) } }, data: { state: "pending", availableAt: now } });
    await recordEvent(tx, {
      traineeId: task.traineeId,
      kind: "retry_requested",
      outcome: "info",
      taskId: task.id,
      message: `${options.actor} retried ${failed.map((t) => `${t.kind} #${t.id}`).join(", then ")}`,
      at: now,
    });
    return failed;
  });
}
