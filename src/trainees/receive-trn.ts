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
import { currentTraceparent } from "../trace-context.js";
import { phaseOf } from "./sync-tasks.js";
import { openTrnRequestStates } from "./trn-requests.js";

const trnConflict = (message: string) => new SyncError("trn_conflict", message);

/**
 * Stores the TRN in one statement, the SQL function trs_sync_store_trn (prisma/functions.sql), which
 * holds every rule: the trainee row lock first, a trainee holding another TRN is a conflict, the same
 * answer twice changes nothing, the trainee moves to trn_received only from submitted_for_trn, the
 * request (and any other still open for the trainee) closes as received, the event, and an update
 * queued behind unless one is waiting already. Polls, the register job and TRS webhooks all settle here.
 */
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
  const { rows } = await deps.pool.query<{ outcome: StoreOutcome; held_trn: string | null }>(
    `SELECT outcome, held_trn FROM trs_sync_store_trn($1::uuid, $2::uuid, $3, $4::jsonb, $5, $6, $7, $8::bigint,
       ($9::timestamptz AT TIME ZONE 'UTC'), $10::integer, $11)`,
    [
      traineeId,
      request.id,
      trn,
      JSON.stringify(toJson(options.response)),
      options.message ?? null,
      options.jobName,
      options.jobId,
      options.taskId?.toString() ?? null,
      deps.now().toISOString(),
      phaseOf.update_trainee,
      currentTraceparent(),
    ],
  );
  const answer = rows[0];
  switch (answer?.outcome) {
    case "stored":
    case "unchanged":
      return;
    case "conflict":
      throw trnConflict(`TRS allocated ${trn} but the trainee already has ${answer.held_trn}`);
    case "taken":
      throw trnConflict(`TRS allocated ${trn}, which another trainee already has`);
    case "missing":
      throw new SyncError("internal_error", "the trainee no longer exists");
    default:
      throw new SyncError("internal_error", `TRN request ${request.requestId} no longer exists`);
  }
}

type StoreOutcome = "stored" | "unchanged" | "conflict" | "taken" | "missing" | "request_missing";

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
