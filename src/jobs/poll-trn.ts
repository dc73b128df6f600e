/**
 * poll-trn: asks the API whether a pending TRN request has a TRN yet (trs-api.md §3b).
 *
 * One job per TRN request, re-delayed in place (moveToDelayed, which uses no attempt) rather than
 * a new job per poll. The schedule (trainees/trn-schedule.ts) is kept in the TRN request row, so a
 * transient error retried with backoff, or a Redis wipe, does not lose it. At the deadline the
 * request is marked timed out and support hears about it once, in Slack.
 *
 * Support may restart polling (a new deadline, a poll now) or re-submit (the request is superseded)
 * while a poll is in flight. The poll reads the request again once TRS has answered and writes the
 * schedule only if the deadline it read still holds, so it never times out a request whose
 * deadline was just extended, and a poll of a request that is no longer open stops without alert.
 */
import { isApiError } from "../clients/api-error.js";
import type { TrnRequest } from "../generated/prisma/client.js";
import { SyncError } from "../errors.js";
import { settleTrnAnswer, toJson } from "../trainees/receive-trn.js";
import { openTrnRequestStates } from "../trainees/trn-requests.js";
import { daysBetween, nextPollAt } from "../trainees/trn-schedule.js";
import { raiseAlert } from "./slack-alert.js";
import { standardRetry, type SyncContext, type SyncJobDefinition, type SyncOutcome } from "./job.js";

/** A poll that comes due within this much is done now rather than re-delayed. */
const EARLY_TOLERANCE_MS = 1_000;

const isOpen = (request: TrnRequest) => (openTrnRequestStates as readonly string[]).includes(request.state);

export const pollTrn: SyncJobDefinition = {
  kind: "poll_trn",
  name: "poll-trn",
  needsTrn: false,
  maxCalls: 1,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { deps, trainee, task, now } = ctx;
    if (!task.trnRequestId) throw new SyncError("internal_error", "poll task without a TRN request");
    const request = await deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: task.trnRequestId } });

    if (trainee.trn || request.state === "received") {
      await deps.prisma.trnRequest.updateMany({
        where: { id: request.id, state: { in: [...openTrnRequestStates] } },
        data: { state: "received", trn: trainee.trn, activeTraineeId: null, nextPollAt: null },
      });
      return { done: true, message: "the trainee already has a TRN" };
    }
    if (!isOpen(request)) return stopPolling(ctx, request);
    // Brought back early (after a Redis wipe, or a retry): keep the schedule.
    if (request.nextPollAt && request.nextPollAt.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
      return { done: false, at: request.nextPollAt };
    }

    let result;
    try {
      result = await deps.api.getTrnRequest(request.requestId);
    } catch (error) {
      if (isApiError(error) && error.errorCode === 10031) {
        // TRS does not know the request: polling it again cannot help. Support re-submits.
        await deps.prisma.trnRequest.updateMany({
          where: { id: request.id, state: { in: [...openTrnRequestStates] } },
          data: { state: "failed", activeTraineeId: null, nextPollAt: null, lastResponse: toJson({ status: 404, errorCode: 10031 }) },
        });
      }
      throw error;
    }
    await deps.prisma.trnRequest.update({
      where: { id: request.id },
      data: { pollCount: { increment: 1 }, lastPolledAt: now, lastResponse: toJson(result.raw) },
    });

    const common = { deps, traineeId: trainee.id, request, result, jobName: pollTrn.name, jobId: ctx.jobId, taskId: task.id };
    if (await settleTrnAnswer(common)) return { done: true, message: `TRN ${result.trn} received after ${request.pollCount + 1} poll(s)` };
    // Still pending. Support may have changed the request while TRS answered: read it again.
    const fresh = await deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: request.id } });
    if (!isOpen(fresh)) return stopPolling(ctx, fresh);
    if (now.getTime() >= fresh.deadlineAt.getTime()) return timeOut(ctx, fresh);
    const at = nextPollAt({ pollsDone: fresh.pollCount, now, deadlineAt: fresh.deadlineAt, config: deps.config.trnPoll });
    const { count } = await deps.prisma.trnRequest.updateMany({
      where: { id: fresh.id, state: "pending", deadlineAt: fresh.deadlineAt },
      data: { nextPollAt: at },
    });
    if (count === 0) return { done: false, at: now }; // changed again just now: decide once more
    await ctx.event({
      kind: "trn_polled",
      outcome: "info",
      message: `still pending after poll ${fresh.pollCount}; next at ${at.toISOString()}`,
    });
    return { done: false, at };
  },
};

/** The request was superseded by a re-submission, or closed: nothing to poll, nothing to alert. */
async function stopPolling(ctx: SyncContext, request: TrnRequest): Promise<SyncOutcome> {
  const message = `request ${request.requestId} is ${request.state}: polling stopped`;
  await ctx.event({ kind: "trn_polling_stopped", outcome: "skipped", message });
  return { done: true, message };
}

/**
 * The deadline passed: the request times out and support is alerted once. Only if the deadline is
 * still the one read: a restart that extended it meanwhile wins, and polling goes on.
 */
async function timeOut(ctx: SyncContext, request: TrnRequest): Promise<SyncOutcome> {
  const { deps, trainee, now } = ctx;
  const days = daysBetween(request.submittedAt, now);
  const link = `${deps.config.publicBaseUrl}/admin/trainees/${encodeURIComponent(trainee.slug)}`;
  const text =
    `TRN request for trainee ${trainee.slug} timed out after ${days} day${days === 1 ? "" : "s"} ` +
    `(request ${request.requestId}, ${request.pollCount} polls). Ask TRS why it is slow, then restart polling: ` +
    `npm run cli -- poll-trn ${trainee.slug} --for 4d --actor YOUR_NAME`;
  const timedOut = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.trnRequest.updateMany({
      where: { id: request.id, state: "pending", deadlineAt: request.deadlineAt },
      data: { state: "timed_out", timedOutAt: now, nextPollAt: null },
    });
    if (count === 0) return false;
    await raiseAlert(tx, {
      // one alert per request and deadline: a restarted poll that times out again alerts again
      dedupeKey: `trn-timeout-${request.id}-${request.deadlineAt.getTime()}`,
      kind: "trn_timeout",
      traineeId: trainee.id,
      text,
      details: { slug: trainee.slug, requestId: request.requestId, daysWaited: days, link },
    });
    return true;
  });
  if (!timedOut) return { done: false, at: now };
  throw new SyncError("trn_request_timed_out", `no TRN after ${days} day(s) of polling request ${request.requestId}`);
}
