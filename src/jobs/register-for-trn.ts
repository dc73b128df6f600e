/**
 * register-for-trn: asks the teacher records API for a TRN (trs-api.md §3a).
 *
 * The request id was stored with the TRN request before anything was sent and is reused on every
 * retry. On TRS a retry after a lost answer gets 409 errorCode 10029 ("already created"): our
 * earlier attempt got through, so we go on polling with the same id. A request the API refused
 * for good is closed; support's re-submission then opens a new one with a new deadline.
 */
import { isApiError } from "../clients/api-error.js";
import type { TrnRequest } from "../generated/prisma/client.js";
import { openTrnRequest } from "../trainees/trn-requests.js";
import { settleTrnAnswer, toJson } from "../trainees/receive-trn.js";
import { enqueueSyncTask } from "../trainees/outbox.js";
import { nextPollAt } from "../trainees/trn-schedule.js";
import { classify } from "./classify.js";
import { standardRetry, type SyncContext, type SyncJobDefinition } from "./job.js";

export const registerForTrn: SyncJobDefinition = {
  kind: "register_for_trn",
  name: "register-for-trn",
  needsTrn: false,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { deps, trainee, task } = ctx;
    const now = ctx.now;
    let request = await currentRequest(ctx);
    if (trainee.trn) {
      if (request && request.activeTraineeId) {
        await deps.prisma.trnRequest.update({
          where: { id: request.id },
          data: { state: "received", trn: trainee.trn, activeTraineeId: null },
        });
      }
      await ctx.event({ kind: "trn_request_skipped", outcome: "skipped", message: "the trainee already has a TRN" });
      return { done: true, message: "trainee already has a TRN" };
    }
    if (!request || request.state === "failed" || request.state === "timed_out") {
      // A re-submission: a new request id and a deadline counted from now.
      if (request?.activeTraineeId) {
        await deps.prisma.trnRequest.update({ where: { id: request.id }, data: { activeTraineeId: null } });
      }
      request = await openTrnRequest(deps.prisma, { traineeId: trainee.id, submittedAt: now, config: deps.config.trnPoll });
      await deps.prisma.syncTask.update({ where: { id: task.id }, data: { trnRequestId: request.id } });
      await ctx.event({
        kind: "trn_request_opened",
        outcome: "info",
        message: `new TRN request ${request.requestId}, deadline ${request.deadlineAt.toISOString()}`,
      });
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
      if (classify(error).errorClass.kind === "permanent") {
        await deps.prisma.trnRequest.update({
          where: { id: request.id },
          data: {
            state: "failed",
            activeTraineeId: null,
            lastResponse: toJson({
              error: error instanceof Error ? error.message : String(error),
              body: isApiError(error) ? error.bodyExcerpt : undefined,
            }),
          },
        });
      }
      throw error;
    }

    await ctx.event({
      kind: "trn_requested",
      outcome: "success",
      httpStatus: 200,
      message: `request ${request.requestId}: ${result.status}${result.potentialDuplicate ? " (potential duplicate, manual review at TRS)" : ""}`,
    });
    const common = { deps, traineeId: trainee.id, request, result, jobName: registerForTrn.name, jobId: ctx.jobId, taskId: task.id };
    if (await settleTrnAnswer(common)) return { done: true, message: `TRN ${result.trn} received at once` };
    await deps.prisma.trnRequest.update({ where: { id: request.id }, data: { lastResponse: toJson(result.raw) } });
    return schedulePolling(ctx, request, "pending");
  },
};

async function currentRequest(ctx: SyncContext): Promise<TrnRequest | null> {
  const { deps, task, trainee } = ctx;
  if (task.trnRequestId) return deps.prisma.trnRequest.findUnique({ where: { id: task.trnRequestId } });
  return deps.prisma.trnRequest.findUnique({ where: { activeTraineeId: trainee.id } });
}

/** Marks the request pending and queues its poll task right behind this one (phase 0). */
async function schedulePolling(ctx: SyncContext, request: TrnRequest, why: string) {
  const { deps, trainee, now } = ctx;
  const at = nextPollAt({ pollsDone: 0, now, deadlineAt: request.deadlineAt, config: deps.config.trnPoll });
  await deps.prisma.$transaction(async (tx) => {
    await tx.trnRequest.update({ where: { id: request.id }, data: { state: "pending", nextPollAt: at } });
    const existing = await tx.syncTask.findFirst({
      where: { trnRequestId: request.id, kind: "poll_trn", state: { in: ["pending", "queued", "running"] } },
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
  });
  return { done: true as const, message: `TRN ${why}: first poll at ${at.toISOString()}` };
}
