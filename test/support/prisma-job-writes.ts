/**
 * The job writes as they were before they moved to one statement each (commit 8f4f557): the TRN
 * stored in a Prisma transaction, and sendCalls with its per-call hash read, event, upsert and
 * ownership check. Kept verbatim as the reference the new statements are compared with
 * (test/trainees/receive-trn.one-statement.test.ts, test/jobs/send-calls.one-statement.test.ts).
 */
import type { Deps } from "../../src/deps.js";
import { Prisma, type TrnRequest } from "../../src/generated/prisma/client.js";
import type { PlannedCall, SyncOperation } from "../../src/clients/teacher-records.js";
import { RunSuperseded, SyncError } from "../../src/errors.js";
import { recordEvent } from "../../src/trainees/events.js";
import { hashOf } from "../../src/trainees/records.js";
import { toJson } from "../../src/trainees/receive-trn.js";
import { enqueueSyncTask, lockTrainee } from "../../src/trainees/sync-tasks.js";
import { checkAwardedRecord, isAwardedRecordRefusal } from "../../src/jobs/awarded-elsewhere.js";
import { classify } from "../../src/jobs/classify.js";
import type { SyncContext } from "../../src/jobs/job.js";
import type { SendReport } from "../../src/jobs/send-calls.js";

const trnConflict = (message: string) => new SyncError("trn_conflict", message);

export async function prismaStoreTrn(options: {
  deps: Deps;
  traineeId: string;
  request: TrnRequest;
  trn: string;
  response: unknown;
  jobName: string;
  jobId: string;
  taskId?: bigint;
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
      const stored = await tx.trnRequest.findUnique({ where: { id: request.id }, select: { state: true, trn: true } });
      if (trainee.trn === trn && stored?.state === "received" && stored.trn === trn) return;
      const state = trainee.state === "submitted_for_trn" ? "trn_received" : trainee.state;
      await tx.trainee.update({
        where: { id: traineeId },
        data: { trn, state, ...(trainee.trn ? {} : { trnReceivedAt: now }) },
      });
      await tx.trnRequest.update({
        where: { id: request.id },
        data: { state: "received", trn, activeTraineeId: null, lastResponse: toJson(options.response), nextPollAt: null },
      });
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

export async function prismaSendCalls(ctx: SyncContext, operation: SyncOperation, calls: PlannedCall[]): Promise<SendReport> {
  const { deps, trainee } = ctx;
  const report: SendReport = { sent: [], skipped: [], refused: [], ignored: [] };
  for (const [index, call] of calls.entries()) {
    if (index > 0 && !(await ctx.stillOwned())) throw new RunSuperseded();
    const hash = hashOf({ method: call.method, path: call.path, body: call.body });
    const previous = await deps.prisma.sentPayload.findUnique({
      where: { traineeId_endpoint: { traineeId: trainee.id, endpoint: call.endpoint } },
    });
    if (previous?.hash === hash) {
      report.skipped.push(call);
      continue;
    }
    if (previous?.refusedCode != null) {
      report.refused.push(call);
      await ctx.event({
        kind: `${operation}_not_sent`,
        outcome: "skipped",
        errorCode: previous.refusedCode,
        message: `${call.method} ${call.endpoint} not sent: the API refused it for good (error ${previous.refusedCode}) on ${previous.acceptedAt.toISOString()}`,
      });
      continue;
    }
    let refusedCode: number | null = null;
    try {
      const result = await deps.api.send(call);
      report.sent.push({ call, result });
      await ctx.event({
        kind: `${operation}_sent`,
        outcome: "success",
        httpStatus: result.status,
        message: `${call.method} ${call.endpoint} accepted`,
        details: { endpoint: call.endpoint },
      });
    } catch (error) {
      const classified = classify(error, { operation });
      if (isAwardedRecordRefusal(operation, classified)) {
        // then, checkAwardedRecord wrote its event itself
        await ctx.event(await checkAwardedRecord(ctx, call, classified));
      } else {
        if (classified.errorClass.kind !== "ignorable") throw error;
        if (classified.errorClass.refusedForGood) refusedCode = classified.errorCode;
        await ctx.event({
          kind: `${operation}_ignored`,
          outcome: "skipped",
          errorClass: classified.errorClass.name,
          httpStatus: classified.httpStatus,
          errorCode: classified.errorCode,
          message: `${call.method} ${call.endpoint}: ${classified.errorClass.title} (counts as accepted)`,
        });
      }
      report.ignored.push({ call, errorClass: classified.errorClass.name });
    }
    await deps.prisma.sentPayload.upsert({
      where: { traineeId_endpoint: { traineeId: trainee.id, endpoint: call.endpoint } },
      create: { traineeId: trainee.id, endpoint: call.endpoint, hash, acceptedAt: ctx.now, refusedCode },
      update: { hash, acceptedAt: ctx.now, refusedCode },
    });
  }
  if (report.skipped.length + report.refused.length === calls.length && report.skipped.length > 0) {
    await ctx.event({
      kind: `${operation}_skipped`,
      outcome: "skipped",
      message: "already in sync: the API holds exactly this data, nothing sent",
    });
  }
  return report;
}
