/**
 * The one processor behind every job of the teacher-records queue. For the task a job carries it:
 *
 * 1. claims the task in Postgres: a task already done completes at once; a task that is not its
 *    trainee's head (something earlier in the trainee's line is unfinished) goes back to pending
 *    and the dispatcher brings it again in turn;
 * 2. takes the trainee's advisory lock for the duration of the API calls: a transaction-scoped
 *    Postgres lock, released by Postgres itself if the worker dies, so that across any number of
 *    worker processes at most one job of a trainee talks to the API at a time;
 * 3. runs the job's handler against the trainee as it is now;
 * 4. records the outcome: done, poll again later (moveToDelayed, which uses no attempt), retry
 *    (transient, with backoff), or failed for good (permanent, or out of attempts), in Postgres
 *    first, so that failures are queryable without Redis.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Deps } from "../deps.js";
import type { SyncTask, Trainee } from "../generated/prisma/client.js";
import { recordEvent } from "../trainees/events.js";
import { headTask } from "../trainees/outbox.js";
import { classify, SyncError } from "./classify.js";
import { syncJobPayload, type SyncJobDefinition, type SyncOutcome } from "./job.js";

/** How long one job may hold its trainee's lock (API calls included). */
const LOCK_TRANSACTION_TIMEOUT_MS = 5 * 60_000;
/** When another job of the trainee holds the lock, look again after this. */
const BUSY_RETRY_MS = 2_000;

export type RunResult = { outcome: "done" | "already-done" | "parked" | "missing"; message: string };

export async function runSyncJob(options: {
  deps: Deps;
  definition: SyncJobDefinition;
  job: Job;
  token: string | undefined;
  worker?: Worker;
}): Promise<RunResult> {
  const { deps, definition, job, token } = options;
  const payload = syncJobPayload.parse(job.data);
  const taskId = BigInt(payload.taskId);
  const jobId = job.id ?? "";

  const claim = await claimTask(deps, taskId, job.attemptsMade + 1);
  if (claim.kind !== "claimed") return { outcome: claim.kind, message: claim.message };
  const { task, trainee } = claim;

  const event: Parameters<SyncJobDefinition["handle"]>[1]["event"] = (e) =>
    recordEvent(deps.prisma, { ...e, traineeId: trainee.id, jobName: definition.name, jobId, taskId, at: e.at ?? deps.now() });

  let outcome: SyncOutcome;
  try {
    outcome = await withTraineeLock(deps, trainee.id, async () => {
      if (definition.needsTrn && !trainee.trn) {
        throw new SyncError("trn_missing", `${definition.name} needs a TRN and the trainee has none`);
      }
      return definition.handle(payload, { deps, task, trainee, jobId, now: deps.now(), event });
    });
  } catch (error) {
    if (error instanceof TraineeBusy) {
      await backToQueued(deps, taskId);
      await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
      throw new DelayedError();
    }
    const classified = classify(error);
    if (classified.errorClass.kind !== "ignorable") return handleFailure({ ...options, task, error, event });
    // e.g. 10052 "already awarded": what we wanted is already true at TRS (Register treats it as success).
    await event({
      kind: `${definition.kind}_ignored`,
      outcome: "skipped",
      errorClass: classified.errorClass.name,
      httpStatus: classified.httpStatus,
      errorCode: classified.errorCode,
      message: classified.message,
    });
    outcome = { done: true, message: `ignored ${classified.errorClass.name}` };
  }

  if (!outcome.done) {
    await deps.prisma.syncTask.update({ where: { id: taskId }, data: { state: "queued" } });
    await job.moveToDelayed(outcome.at.getTime(), token);
    throw new DelayedError();
  }
  await deps.prisma.syncTask.update({
    where: { id: taskId },
    data: { state: "succeeded", finishedAt: deps.now(), errorClass: null, httpStatus: null, errorCode: null, errorMessage: null },
  });
  deps.logger.info({ jobId, job: definition.name, slug: payload.slug, taskId: payload.taskId }, outcome.message);
  return { outcome: "done", message: outcome.message };
}

type Claim = { kind: "claimed"; task: SyncTask; trainee: Trainee } | { kind: "already-done" | "parked" | "missing"; message: string };

async function claimTask(deps: Deps, taskId: bigint, attempt: number): Promise<Claim> {
  const now = deps.now();
  return deps.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ id: bigint }[]>`SELECT id FROM sync_tasks WHERE id = ${taskId} FOR UPDATE`;
    if (!rows.length) return { kind: "missing", message: "task no longer exists" };
    const task = await tx.syncTask.findUniqueOrThrow({ where: { id: taskId } });
    if (task.state === "succeeded" || task.state === "cancelled") {
      return { kind: "already-done", message: `task already ${task.state}` };
    }
    const head = await headTask(tx, task.traineeId);
    if (head && head.id !== task.id) {
      // Started out of turn (an update arrived ahead of a queued award, or support retried a later
      // job in Bull Board). Earlier failed work is retried first: CONTRACT.md §6, "retrying a failed
      // award whose update also failed runs the update first".
      if (task.state === "failed") {
        await tx.syncTask.updateMany({
          where: {
            traineeId: task.traineeId,
            state: "failed",
            OR: [{ phase: { lt: task.phase } }, { phase: task.phase, id: { lt: task.id } }],
          },
          data: { state: "pending" },
        });
      }
      await tx.syncTask.update({ where: { id: task.id }, data: { state: "pending" } });
      const message = `waits behind ${head.kind} #${head.id} (${head.state}), which must reach the API first`;
      await recordEvent(tx, { traineeId: task.traineeId, kind: `${task.kind}_waiting`, outcome: "info", taskId: task.id, message });
      return { kind: "parked", message };
    }
    await tx.syncTask.update({ where: { id: task.id }, data: { state: "running", startedAt: now, attempts: attempt } });
    const trainee = await tx.trainee.findUniqueOrThrow({ where: { id: task.traineeId } });
    return { kind: "claimed", task: { ...task, state: "running" }, trainee };
  });
}

class TraineeBusy extends Error {}

/**
 * Runs `work` while holding the trainee's advisory lock. The lock belongs to a transaction that does
 * nothing else, so what `work` writes (timeline events, the TRN) is committed as it happens.
 */
async function withTraineeLock<T>(deps: Deps, traineeId: string, work: () => Promise<T>): Promise<T> {
  return deps.prisma.$transaction(
    async (lockTx) => {
      const [row] = await lockTx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(7318, hashtext(${traineeId})) AS locked`;
      if (!row?.locked) throw new TraineeBusy();
      return work();
    },
    { timeout: LOCK_TRANSACTION_TIMEOUT_MS, maxWait: 30_000 },
  );
}

async function backToQueued(deps: Deps, taskId: bigint) {
  await deps.prisma.syncTask.update({ where: { id: taskId }, data: { state: "queued" } });
}

async function handleFailure(options: {
  deps: Deps;
  definition: SyncJobDefinition;
  job: Job;
  token: string | undefined;
  worker?: Worker;
  task: SyncTask;
  error: unknown;
  event: (e: Parameters<Parameters<SyncJobDefinition["handle"]>[1]["event"]>[0]) => Promise<void>;
}): Promise<never> {
  const { deps, definition, job, task, error, event } = options;
  const classified = classify(error);
  const { errorClass } = classified;
  const common = {
    errorClass: errorClass.name,
    httpStatus: classified.httpStatus,
    errorCode: classified.errorCode,
    message: classified.message,
  };

  if (errorClass.kind === "waiting" && errorClass.name === "rate_limited" && options.worker) {
    // TRS counts requests per client across all our workers: pause the whole queue, use no attempt.
    const waitMs = classified.retryAfterMs ?? 60_000;
    await event({ kind: `${definition.kind}_rate_limited`, outcome: "retrying", ...common });
    await backToQueued(deps, task.id);
    await options.worker.rateLimit(waitMs);
    throw Worker.RateLimitError();
  }

  const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
  const final = errorClass.kind === "permanent" || errorClass.kind === "waiting" || !attemptsLeft;
  await event({ kind: `${definition.kind}_failed`, outcome: final ? "failure" : "retrying", ...common });
  await deps.prisma.syncTask.update({
    where: { id: task.id },
    data: {
      state: final ? "failed" : "queued",
      errorClass: errorClass.name,
      httpStatus: classified.httpStatus,
      errorCode: classified.errorCode,
      errorMessage: classified.message,
      ...(final ? { failedAt: deps.now() } : {}),
    },
  });
  const log = {
    jobId: job.id,
    job: definition.name,
    taskId: String(task.id),
    errorClass: errorClass.name,
    status: classified.httpStatus,
    errorCode: classified.errorCode,
  };
  if (final) {
    deps.logger.warn(log, "sync job failed for good");
    // The failure reason starts with the class, so Bull Board shows it too.
    throw new UnrecoverableError(`${errorClass.name}: ${classified.message}`);
  }
  deps.logger.info(log, "sync job will be retried");
  throw error instanceof Error ? error : new Error(String(error));
}
