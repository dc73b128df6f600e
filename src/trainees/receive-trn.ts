/**
 * Storing a TRN the API allocated: the trainee gets it (and moves to trn_received if it was
 * waiting for it), the TRN request closes, and an update is queued so that TRS learns the training
 * details. Work that was waiting for the TRN is behind the TRN request in the trainee's line and
 * is released as soon as the poll task completes.
 */
import type { Deps } from "../deps.js";
import { Prisma, type TrnRequest } from "../generated/prisma/client.js";
import type { TrnRequestResult } from "../clients/teacher-records.js";
import { SyncError } from "../errors.js";
import { recordEvent } from "./events.js";
import { enqueueSyncTask, lockTrainee } from "./sync-tasks.js";
import { openTrnRequestStates } from "./trn-requests.js";

const trnConflict = (message: string) => new SyncError("trn_conflict", message);

export async function storeTrn(options: {
  deps: Deps;
  traineeId: string;
  request: TrnRequest;
  trn: string;
  response: unknown;
  jobName: string;
  jobId: string;
  /** the poll task, when a poll asked; absent for a webhook that came without one */
  taskId?: bigint;
  /** the timeline message; default "TRN … received for request …" */
  message?: string;
}): Promise<void> {
  const { deps, traineeId, request, trn } = options;
  const now = deps.now();
  try {
    await deps.prisma.$transaction(async (tx) => {
      const trainee = await lockTrainee(tx, traineeId);
      if (!trainee) throw new SyncError("internal_error", "the trainee no longer exists");
      if (trainee.trn && trainee.trn !== trn) {
        throw trnConflict(`TRS allocated ${trn} but the trainee already has ${trainee.trn}`);
      }
      // Idempotent: the same answer stored twice (a poll and a check-now both asked) changes nothing the second time.
      const stored = await tx.trnRequest.findUnique({ where: { id: request.id }, select: { state: true, trn: true } });
      if (trainee.trn === trn && stored?.state === "received" && stored.trn === trn) return;
      // A deferred or withdrawn trainee keeps their state; only one waiting for the TRN moves on.
      const state = trainee.state === "submitted_for_trn" ? "trn_received" : trainee.state;
      await tx.trainee.update({
        where: { id: traineeId },
        data: { trn, state, ...(trainee.trn ? {} : { trnReceivedAt: now }) },
      });
      await tx.trnRequest.update({
        where: { id: request.id },
        data: { state: "received", trn, activeTraineeId: null, lastResponse: toJson(options.response), nextPollAt: null },
      });
      // Any other request still open for the trainee has nothing left to ask: closed, so that its
      // register job (which may have read the trainee before this TRN) finds it received and sends nothing.
      await tx.trnRequest.updateMany({
        where: { activeTraineeId: traineeId, id: { not: request.id } },
        data: { state: "received", trn, activeTraineeId: null, nextPollAt: null },
      });
      await recordEvent(tx, {
        traineeId,
        kind: "trn_received",
        outcome: "success",
        message: options.message ?? `TRN ${trn} received for request ${request.requestId}`,
        jobName: options.jobName,
        jobId: options.jobId,
        taskId: options.taskId,
        details: { requestId: request.requestId, trn, fromState: trainee.state, toState: state },
        at: now,
      });
      if (!trainee.trn && !["withdrawn", "awarded", "draft", "discarded"].includes(state)) {
        await enqueueSyncTask(tx, { traineeId, kind: "update_trainee", now });
      }
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      throw trnConflict(`TRS allocated ${trn}, which another trainee already has`);
    }
    throw error;
  }
}

export function toJson(value: unknown): Prisma.InputJsonValue {
  return (value === undefined || value === null ? {} : JSON.parse(JSON.stringify(value))) as Prisma.InputJsonValue;
}

/**
 * What register-for-trn and poll-trn both do with the API's answer: store a completed request's
 * TRN (true), close a rejected request and fail with trn_request_rejected, or nothing while it
 * is pending (false).
 */
export async function settleTrnAnswer(options: {
  deps: Deps;
  traineeId: string;
  request: TrnRequest;
  result: TrnRequestResult;
  jobName: string;
  jobId: string;
  taskId?: bigint;
  message?: string;
}): Promise<boolean> {
  const { deps, request, result } = options;
  if (result.status === "completed" && result.trn) {
    await storeTrn({ ...options, trn: result.trn, response: result.raw });
    return true;
  }
  if (result.status === "rejected") {
    await deps.prisma.trnRequest.updateMany({
      where: { id: request.id, state: { in: [...openTrnRequestStates] } },
      data: { state: "failed", activeTraineeId: null, nextPollAt: null, lastResponse: toJson(result.raw) },
    });
    throw new SyncError("trn_request_rejected", `TRN request ${request.requestId} was rejected by the API`);
  }
  return false;
}
