/**
 * poll-trn: asks the API whether a pending TRN request has a TRN yet (trs-api.md §3b).
 *
 * One job per TRN request, re-delayed in place (moveToDelayed, which uses no attempt) rather than
 * a new job per poll. The schedule (trainees/trn-schedule.ts) is kept in the TRN request row, so a
 * transient error retried with backoff, or a Redis wipe, does not lose it. At the deadline the
 * request is marked timed out and support hears about it once, in Slack.
 */
import { isApiError } from "../clients/api-error.js";
import { settleTrnAnswer, toJson } from "../trainees/receive-trn.js";
import { daysBetween, nextPollAt } from "../trainees/trn-schedule.js";
import { SyncError } from "./classify.js";
import { raiseAlert } from "./slack-alert.js";
import { standardRetry, type SyncJobDefinition } from "./job.js";

/** A poll that comes due within this much is done now rather than re-delayed. */
const EARLY_TOLERANCE_MS = 1_000;

export const pollTrn: SyncJobDefinition = {
  kind: "poll_trn",
  name: "poll-trn",
  needsTrn: false,
  retry: standardRetry,
  async handle(_payload, ctx) {
    const { deps, trainee, task, now } = ctx;
    if (!task.trnRequestId) throw new SyncError("internal_error", "poll task without a TRN request");
    const request = await deps.prisma.trnRequest.findUniqueOrThrow({ where: { id: task.trnRequestId } });

    if (trainee.trn || request.state === "received") {
      if (request.state !== "received") {
        await deps.prisma.trnRequest.update({
          where: { id: request.id },
          data: { state: "received", trn: trainee.trn, activeTraineeId: null },
        });
      }
      return { done: true, message: "the trainee already has a TRN" };
    }
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
        await deps.prisma.trnRequest.update({
          where: { id: request.id },
          data: {
            state: "failed",
            activeTraineeId: null,
            lastPolledAt: now,
            pollCount: { increment: 1 },
            lastResponse: toJson({ status: 404, errorCode: 10031 }),
          },
        });
      }
      throw error;
    }
    const pollCount = request.pollCount + 1;
    await deps.prisma.trnRequest.update({
      where: { id: request.id },
      data: { pollCount, lastPolledAt: now, lastResponse: toJson(result.raw) },
    });

    const common = { deps, traineeId: trainee.id, request, result, jobName: pollTrn.name, jobId: ctx.jobId, taskId: task.id };
    if (await settleTrnAnswer(common)) return { done: true, message: `TRN ${result.trn} received after ${pollCount} poll(s)` };
    if (now.getTime() >= request.deadlineAt.getTime()) {
      return timeOut(ctx, request.id);
    }
    const at = nextPollAt({ pollsDone: pollCount, now, deadlineAt: request.deadlineAt, config: deps.config.trnPoll });
    await deps.prisma.trnRequest.update({ where: { id: request.id }, data: { nextPollAt: at } });
    await ctx.event({ kind: "trn_polled", outcome: "info", message: `still pending after poll ${pollCount}; next at ${at.toISOString()}` });
    return { done: false, at };
  },
};

async function timeOut(ctx: Parameters<SyncJobDefinition["handle"]>[1], requestId: string): Promise<never> {
  const { deps, trainee, now } = ctx;
  const request = await deps.prisma.trnRequest.update({
    where: { id: requestId },
    data: { state: "timed_out", timedOutAt: now, nextPollAt: null },
  });
  const days = daysBetween(request.submittedAt, now);
  const link = `${deps.config.publicBaseUrl}/admin/trainees/${encodeURIComponent(trainee.slug)}`;
  const text =
    `TRN request for trainee ${trainee.slug} timed out after ${days} day${days === 1 ? "" : "s"} ` +
    `(request ${request.requestId}, ${request.pollCount} polls). Ask TRS why it is slow, then restart polling: ` +
    `npm run cli -- poll-trn ${trainee.slug} --for 4d`;
  await raiseAlert(deps.prisma, {
    // one alert per request and deadline: a restarted poll that times out again alerts again
    dedupeKey: `trn-timeout-${request.id}-${request.deadlineAt.getTime()}`,
    kind: "trn_timeout",
    traineeId: trainee.id,
    text,
    details: { slug: trainee.slug, requestId: request.requestId, daysWaited: days, link },
  });
  throw new SyncError("trn_request_timed_out", `no TRN after ${days} day(s) of polling request ${request.requestId}`);
}
