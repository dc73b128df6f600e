/**
 * Sends planned calls for update, withdraw and award, skipping every call whose payload equals
 * what the API last accepted for that trainee and endpoint (a hash kept in sent_payloads), so a
 * repeated or coalesced job sends nothing new and says so on the timeline.
 */
import type { CallResult, PlannedCall, SyncOperation } from "../clients/teacher-records.js";
import { hashOf } from "../trainees/records.js";
import { RunSuperseded } from "../errors.js";
import { checkAwardedRecord, isAwardedRecordRefusal } from "./awarded-elsewhere.js";
import { classify } from "./classify.js";
import type { SyncContext } from "./job.js";

export interface SendReport {
  sent: { call: PlannedCall; result: CallResult }[];
  skipped: PlannedCall[];
  /** calls not sent because the API refused them for good before (refusedForGood classes) */
  refused: PlannedCall[];
  /** calls the API refused with an ignorable error (counts as accepted) */
  ignored: { call: PlannedCall; errorClass: string }[];
}

export async function sendCalls(ctx: SyncContext, operation: SyncOperation, calls: PlannedCall[]): Promise<SendReport> {
  const { deps, trainee } = ctx;
  const report: SendReport = { sent: [], skipped: [], refused: [], ignored: [] };
  for (const [index, call] of calls.entries()) {
    // cancelled or discarded while the previous call was under way: send nothing more
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
      // e.g. TRS's 10041: it refuses this trainee's personal-detail changes whatever we send
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
        // the QTS race: throws unless the record already holds exactly what we would send
        await checkAwardedRecord(ctx, call, classified);
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
