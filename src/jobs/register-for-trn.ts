/**
 * register-for-trn: asks the teacher records API for a TRN (trs-api.md §3a).
 *
 * The request id was stored with the TRN request before anything was sent and is reused on every
 * retry. On TRS a retry after a lost answer gets 409 errorCode 10029 ("already created"): our
 * earlier attempt got through, so we go on polling with the same id.
 *
 * Only a refusal closes a request (a 4xx about the request itself); support's retry after a
 * correction then opens a new one with a new deadline. Any answer that might mean "received" (a
 * 2xx we cannot read, a redirect, 408, a timeout after sending, a server error) keeps the request
 * open and the same id is sent again: TRS never holds two requests for one trainee because of us.
 */
import { isApiError } from "../clients/api-error.js";
import type { TrnRequest } from "../generated/prisma/client.js";
import { SyncError } from "../errors.js";
import { activeTrnRequest, closeActiveTrnRequest, openTrnRequest, openTrnRequestStates } from "../trainees/trn-requests.js";
import { settleTrnAnswer, toJson } from "../trainees/receive-trn.js";
import { enqueueSyncTask, lockTrainee, notStartedStates, setRunTrnRequest } from "../trainees/sync-tasks.js";
import { nextPollAt } from "../trainees/trn-schedule.js";
import { standardRetry, type SyncContext, type SyncJobDefinition, type SyncOutcome } from "./job.js";

/** TRS refused the request itself: a new one is needed once the data is corrected. */
export function refusesTrnRequest(error: unknown): boolean {
  if (!isApiError(error) || error.status < 400 || error.status > 499) return false;
  // 401/403: our key, not the request · 404 without a code: our address · 408: may have arrived ·
  // 409: 10029 "already received", or a conflict that says nothing against the request · 429: wait
  return ![401, 403, 404, 408, 409, 429].includes(error.status);
}

/** An answer that may hide an accepted request: the same id must be sent again, never a new one. */
export function mayHaveBeenReceived(error: unknown): boolean {
  return isApiError(error) && ((error.status >= 200 && error.status <= 399) || error.status === 408);
}

export const registerForTrn: SyncJobDefinition = {
  kind: "register_for_trn",
  name: "register-for-trn",
  needsTrn: false,
  maxCalls: 1,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { deps, trainee } = ctx;
    const bound = ctx.task.trnRequestId ? await deps.prisma.trnRequest.findUnique({ where: { id: ctx.task.trnRequestId } }) : null;
    if (trainee.trn) {
      await closeActiveTrnRequest(deps.prisma, { traineeId: trainee.id, state: "received", trn: trainee.trn });
      await ctx.event({ kind: "trn_request_skipped", outcome: "skipped", message: "the trainee already has a TRN" });
      return { done: true, message: "trainee already has a TRN" };
    }
    if (trainee.state === "discarded") {
      await ctx.event({ kind: "trn_request_skipped", outcome: "skipped", message: "the trainee was discarded: nothing sent" });
      return { done: true, message: "trainee discarded" };
    }
    const request = await requestToSend(ctx, bound);
    if (!request) {
      const message = "a newer TRN request replaced this one (re-submitted): nothing sent";
      await ctx.event({ kind: "trn_request_skipped", outcome: "skipped", message });
      return { done: true, message };
    }
    if (request.state === "received") return { done: true, message: "TRN request already received" };
    if (request.state === "pending") return schedulePolling(ctx, request, "already pending");

    let result;
    try {
      result = await deps.api.requestTrn(request.requestId, trainee);
    } catch (error) {
      if (isApiError(error) && error.status === 409 && error.errorCode === 10029) {
        await ctx.event({
          kind: "trn_requested",
          outcome: "success",
          httpStatus: 409,
          errorCode: 10029,
          message: `request ${request.requestId} was already received by the API: polling it`,
        });
        return schedulePolling(ctx, request, "request already known to the API");
      }
      if (refusesTrnRequest(error)) {
        await deps.prisma.trnRequest.updateMany({
          where: { id: request.id, state: { in: [...openTrnRequestStates] } },
          data: {
            state: "failed",
            activeTraineeId: null,
            lastResponse: toJson({ error: (error as Error).message, body: isApiError(error) ? error.bodyExcerpt : undefined }),
          },
        });
      } else if (mayHaveBeenReceived(error)) {
        throw new SyncError(
          "trn_request_unconfirmed",
          `${(error as Error).message}: TRS may have received request ${request.requestId}; the same request id is sent again`,
        );
      }
      throw error;
    }

    await ctx.event({
      kind: "trn_requested",
      outcome: "success",
      httpStatus: 200,
      message: `request ${request.requestId}: ${result.status}${result.potentialDuplicate ? " (potential duplicate, manual review at TRS)" : ""}`,
    });
    const common = { deps, traineeId: trainee.id, request, result, jobName: registerForTrn.name, jobId: ctx.jobId, taskId: ctx.task.id };
    if (await settleTrnAnswer(common)) return { done: true, message: `TRN ${result.trn} received at once` };
    await deps.prisma.trnRequest.update({ where: { id: request.id }, data: { lastResponse: toJson(result.raw) } });
    return schedulePolling(ctx, request, "pending");
  },
};

/**
 * The request this run sends: the task's own while it is open. A task whose request was closed is
 * either obsolete (a re-submission opened a newer one, with its own task) or a retry after TRS
 * refused it, which opens a new request with a new deadline (counted from now) and binds it to the
 * task. Decided under the trainee lock, so a re-submission at the same moment cannot open a second.
 */
async function requestToSend(ctx: SyncContext, bound: TrnRequest | null): Promise<TrnRequest | null> {
  const { deps, trainee, now } = ctx;
  if (bound && (openTrnRequestStates as readonly string[]).includes(bound.state)) return bound;
  if (bound?.state === "received") return bound;
  const chosen = await deps.prisma.$transaction(async (tx) => {
    await lockTrainee(tx, trainee.id);
    const active = await activeTrnRequest(tx, trainee.id);
    if (active) return { request: bound ? null : active, opened: false };
    const request = await openTrnRequest(tx, { traineeId: trainee.id, submittedAt: now, config: deps.config.trnPoll });
    // fenced: a run that no longer owns the task rolls the new request back
    if (!(await setRunTrnRequest(tx, ctx.fence, request.id))) return { request: null, opened: false };
    return { request, opened: true };
  });
  if (chosen.opened && chosen.request) {
    await ctx.event({
      kind: "trn_request_opened",
      outcome: "info",
      message: `new TRN request ${chosen.request.requestId}, deadline ${chosen.request.deadlineAt.toISOString()}`,
    });
  }
  return chosen.request;
}

/** Marks the request pending and queues its poll task right behind this one (phase 0). */
async function schedulePolling(ctx: SyncContext, request: TrnRequest, why: string): Promise<SyncOutcome> {
  const { deps, trainee, now } = ctx;
  const at = nextPollAt({ pollsDone: 0, now, deadlineAt: request.deadlineAt, config: deps.config.trnPoll });
  const scheduled = await deps.prisma.$transaction(async (tx) => {
    await lockTrainee(tx, trainee.id);
    const { count } = await tx.trnRequest.updateMany({
      where: { id: request.id, state: { in: [...openTrnRequestStates] } },
      data: { state: "pending", nextPollAt: at },
    });
    if (count === 0) return false; // closed meanwhile (re-submitted): nothing to poll
    const existing = await tx.syncTask.findFirst({
      where: { trnRequestId: request.id, kind: "poll_trn", state: { in: [...notStartedStates, "running"] } },
    });
    if (!existing) {
      await enqueueSyncTask(tx, {
        traineeId: trainee.id,
        kind: "poll_trn",
        now,
        delayMs: at.getTime() - now.getTime(),
        trnRequestId: request.id,
      });
    }
    return true;
  });
  if (!scheduled) return { done: true, message: `TRN ${why}, but request ${request.requestId} was closed meanwhile: not polled` };
  return { done: true, message: `TRN ${why}: first poll at ${at.toISOString()}` };
}
