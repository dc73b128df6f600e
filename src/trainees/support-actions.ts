/**
 * What support staff can do to a trainee's sync work, from the CLI and the dashboard. Each action
 * locks the trainee first (like a PUT and a job's claim; the TRN actions also wait for the lock a
 * job holds while it talks to the API), changes tasks only through sync-tasks.ts,
 * and leaves an event on the trainee's timeline. Once it has committed, it asks BullMQ to follow
 * (remove a cancelled task's job, bring a delayed poll forward); that part is best effort, since a
 * job that is left behind finds its task cancelled, or its poll due, when it runs.
 */
import type { Db } from "../deps.js";
import type { SyncTask, SyncTaskKind } from "../generated/prisma/client.js";
import { SupportActionError } from "../errors.js";
import { recordEvent } from "./events.js";
import {
  cancelTasks,
  enqueueSyncTask,
  headTask,
  lockTraineeBySlug,
  notStartedStates,
  retryFailedTasks,
  runNotBefore,
} from "./sync-tasks.js";
import { closeActiveTrnRequest, openTrnRequest } from "./trn-requests.js";
import { SUPPORT_LOCK_WAIT_MS, TraineeBusy, waitForTraineeLock } from "../jobs/trainee-lock.js";
import type { TrnPollConfig } from "./trn-schedule.js";

export { SupportActionError };

/** The BullMQ side of support actions (jobs/enqueue.ts implements it). */
export interface QueueControl {
  /** removes the jobs of these tasks, unless they are running */
  remove(tasks: { kind: SyncTaskKind; id: bigint }[]): Promise<void>;
  /** a delayed job of this task runs now */
  runNow(task: { kind: SyncTaskKind; id: bigint }): Promise<void>;
}

interface ActionOptions {
  db: Db;
  now: Date;
  /** who asked: a dashboard user, or `cli:<user>` */
  actor: string;
  /** when given, BullMQ follows at once; without it, the dispatcher and the jobs catch up by themselves */
  queue?: QueueControl;
}

interface TrnActionOptions extends ActionOptions {
  /** how long to wait for a job of the trainee that is talking to the API; default SUPPORT_LOCK_WAIT_MS (10 s) */
  lockWaitMs?: number;
}

/** Runs `after` once the action committed; a Redis failure there changes nothing that matters. */
async function thenQueue(queue: QueueControl | undefined, after: (queue: QueueControl) => Promise<void>): Promise<void> {
  if (!queue) return;
  try {
    await after(queue);
  } catch {
    // Postgres has decided: the dispatcher and the jobs' own checks bring BullMQ in line.
  }
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * The TRN actions' transaction: long enough to wait for the trainee's lock and then act. A
 * register or poll job holds that lock while its request is with the API; without it, a
 * re-submission could open a second request while the first is being answered (two request ids
 * for one trainee, the second sent after the first had brought the TRN).
 */
async function whileTraineeIdle<T>(
  options: TrnActionOptions & { slug: string },
  work: (tx: Tx, trainee: NonNullable<Awaited<ReturnType<typeof lockTraineeBySlug>>>) => Promise<T>,
): Promise<T> {
  const waitMs = options.lockWaitMs ?? SUPPORT_LOCK_WAIT_MS;
  const found = await options.db.trainee.findUnique({ where: { slug: options.slug }, select: { id: true } });
  if (!found) throw new SupportActionError(`no trainee with slug ${options.slug}`);
  try {
    return await options.db.$transaction(
      async (tx) => {
        await waitForTraineeLock(tx, found.id, waitMs);
        return work(tx, await lockedTrainee(tx, options.slug, true));
      },
      { maxWait: waitMs, timeout: waitMs + 30_000 },
    );
  } catch (error) {
    if (error instanceof TraineeBusy) {
      throw new SupportActionError(
        `trainee ${options.slug} is busy: a job is talking to TRS for them right now. Nothing was done; try again in a minute.`,
      );
    }
    throw error;
  }
}

async function lockedTrainee(tx: Tx, slug: string, needsNoTrn: boolean) {
  const trainee = await lockTraineeBySlug(tx, slug);
  if (!trainee) throw new SupportActionError(`no trainee with slug ${slug}`);
  if (needsNoTrn && trainee.trn) throw new SupportActionError(`trainee ${trainee.slug} already has TRN ${trainee.trn}`);
  return trainee;
}

/**
 * Restarts polling of the trainee's latest TRN request (timed out, or still pending) with a new
 * deadline `forMs` from now, and polls at once. Playbook: "kick off another polling job with a
 * timeout in the future". A poll in flight keeps running; it cannot undo the new deadline (its
 * writes are fenced by the deadline it read).
 */
export async function restartTrnPolling(options: TrnActionOptions & { slug: string; forMs: number }) {
  const { now } = options;
  const result = await whileTraineeIdle(options, async (tx, trainee) => {
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
    let poll: SyncTask | null = await tx.syncTask.findFirst({
      where: { trnRequestId: request.id, kind: "poll_trn" },
      orderBy: { id: "desc" },
    });
    if (poll?.state === "failed") {
      await retryFailedTasks(tx, { task: poll, now });
    } else if (poll && (notStartedStates as readonly string[]).includes(poll.state)) {
      await runNotBefore(tx, poll.id, now);
    } else if (poll?.state !== "running") {
      const created = await enqueueSyncTask(tx, { traineeId: trainee.id, kind: "poll_trn", now, trnRequestId: request.id });
      poll = await tx.syncTask.findUniqueOrThrow({ where: { id: created.id } });
    }
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trn_polling_restarted",
      outcome: "info",
      message: `${options.actor} restarted polling of request ${request.requestId} until ${deadlineAt.toISOString()}`,
      at: now,
    });
    return { requestId: request.requestId, deadlineAt, poll };
  });
  const poll = result.poll;
  if (poll) await thenQueue(options.queue, (queue) => queue.runNow(poll));
  return { requestId: result.requestId, deadlineAt: result.deadlineAt };
}

/**
 * Asks TRS about the trainee's pending TRN request now rather than at the next scheduled poll
 * (support's "check now"). The deadline stays; a request that timed out needs its deadline
 * extended instead (restartTrnPolling).
 */
export async function checkTrnNow(options: TrnActionOptions & { slug: string }) {
  const { now } = options;
  const result = await whileTraineeIdle(options, async (tx, trainee) => {
    const request = await tx.trnRequest.findFirst({ where: { activeTraineeId: trainee.id } });
    if (!request || !["pending", "requested"].includes(request.state)) {
      throw new SupportActionError(`trainee ${trainee.slug} has no TRN request being polled: extend the deadline or re-submit instead`);
    }
    const poll = await tx.syncTask.findFirst({ where: { trnRequestId: request.id, kind: "poll_trn" }, orderBy: { id: "desc" } });
    if (poll?.state === "running") throw new SupportActionError(`trainee ${trainee.slug}'s TRN request is being checked right now`);
    await tx.trnRequest.update({ where: { id: request.id }, data: { nextPollAt: now } });
    let task = poll;
    if (poll && (notStartedStates as readonly string[]).includes(poll.state)) {
      await runNotBefore(tx, poll.id, now);
    } else if (request.state === "pending") {
      const created = await enqueueSyncTask(tx, { traineeId: trainee.id, kind: "poll_trn", now, trnRequestId: request.id });
      task = await tx.syncTask.findUniqueOrThrow({ where: { id: created.id } });
    }
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trn_check_requested",
      outcome: "info",
      message: `${options.actor} asked TRS about request ${request.requestId} now`,
      at: now,
    });
    return { requestId: request.requestId, poll: task };
  });
  const poll = result.poll;
  if (poll) await thenQueue(options.queue, (queue) => queue.runNow(poll));
  return { requestId: result.requestId };
}

/**
 * Re-submits the trainee for a TRN: closes the current request (superseded), cancels every TRN
 * task of the trainee that has not finished (a poll between polls, a register job waiting to
 * retry, a run in flight, which is fenced out) and opens a new request (new request id, deadline
 * counted from now) with its own register task, which runs at once, ahead of any work waiting for
 * the TRN.
 */
export async function resubmitForTrn(options: TrnActionOptions & { slug: string; trnPoll: TrnPollConfig }) {
  const { now } = options;
  const result = await whileTraineeIdle(options, async (tx, trainee) => {
    const closed = await closeActiveTrnRequest(tx, { traineeId: trainee.id, state: "superseded" });
    const cancelled = await cancelTasks(tx, { where: { traineeId: trainee.id, kind: { in: ["register_for_trn", "poll_trn"] } }, now });
    const request = await openTrnRequest(tx, { traineeId: trainee.id, submittedAt: now, config: options.trnPoll });
    await enqueueSyncTask(tx, { traineeId: trainee.id, kind: "register_for_trn", now, trnRequestId: request.id, fresh: true });
    const replaced = closed ? `; request ${closed.requestId} closed` : "";
    const stopped = cancelled.length ? `; cancelled ${cancelled.map((t) => `${t.kind} #${t.id}`).join(", ")}` : "";
    await recordEvent(tx, {
      traineeId: trainee.id,
      kind: "trn_resubmitted",
      outcome: "info",
      message: `${options.actor} re-submitted for TRN: new request ${request.requestId}, deadline ${request.deadlineAt.toISOString()}${replaced}${stopped}`,
      at: now,
    });
    return { requestId: request.requestId, deadlineAt: request.deadlineAt, cancelled };
  });
  await thenQueue(options.queue, (queue) => queue.remove(result.cancelled));
  return { requestId: result.requestId, deadlineAt: result.deadlineAt };
}

/**
 * Cancels a failed task (support decided it must not be sent, or it is no longer needed): it leaves
 * the trainee's line with the reason on the timeline, and the work behind it runs.
 */
export async function cancelTask(
  options: ActionOptions & { taskId: bigint; reason: string },
): Promise<{ cancelled: SyncTask; next: SyncTask | null }> {
  const { db, now } = options;
  const reason = options.reason.trim();
  if (!reason) throw new SupportActionError("say why the job is cancelled (a reason is required)");
  const result = await db.$transaction(async (tx) => {
    const owner = await tx.syncTask.findUnique({ where: { id: options.taskId }, select: { trainee: { select: { slug: true } } } });
    if (!owner) throw new SupportActionError(`no task ${options.taskId}`);
    await lockedTrainee(tx, owner.trainee.slug, false);
    const task = await tx.syncTask.findUniqueOrThrow({ where: { id: options.taskId } });
    if (task.state !== "failed") {
      throw new SupportActionError(
        `task ${task.id} is ${task.state}: only a failed job can be cancelled (a running or waiting one may still reach TRS)`,
      );
    }
    const [cancelled] = await cancelTasks(tx, { where: { id: task.id }, now });
    const next = await headTask(tx, task.traineeId);
    await recordEvent(tx, {
      traineeId: task.traineeId,
      kind: `${task.kind}_cancelled`,
      outcome: "info",
      taskId: task.id,
      errorClass: task.errorClass,
      message: `${options.actor} cancelled ${task.kind} #${task.id} (${task.errorClass ?? "failed"}): ${reason}${next ? `; next: ${next.kind} #${next.id}` : ""}`,
      at: now,
    });
    return { cancelled: { ...cancelled!, state: "cancelled" as const }, next };
  });
  await thenQueue(options.queue, (queue) => queue.remove([result.cancelled]));
  return result;
}

/**
 * Retries a failed task, and first every failed task before it in the trainee's line (an award's
 * failed update runs first). Returns the tasks set to run again, in order.
 */
export async function retryTask(options: ActionOptions & { taskId: bigint }): Promise<SyncTask[]> {
  const { db, now } = options;
  return db.$transaction(async (tx) => {
    const owner = await tx.syncTask.findUnique({ where: { id: options.taskId }, select: { trainee: { select: { slug: true } } } });
    if (!owner) throw new SupportActionError(`no task ${options.taskId}`);
    await lockedTrainee(tx, owner.trainee.slug, false);
    const task = await tx.syncTask.findUniqueOrThrow({ where: { id: options.taskId } });
    if (task.state !== "failed") throw new SupportActionError(`task ${task.id} is ${task.state}, not failed`);
    const retried = await retryFailedTasks(tx, { task, now });
    await recordEvent(tx, {
      traineeId: task.traineeId,
      kind: "retry_requested",
      outcome: "info",
      taskId: task.id,
      message: `${options.actor} retried ${retried.map((t) => `${t.kind} #${t.id}`).join(", then ")}`,
      at: now,
    });
    return retried;
  });
}
