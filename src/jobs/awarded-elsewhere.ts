/**
 * An update refused because the record already holds QTS or EYTS (TRS 10052 on the route, DQT
 * "Teacher already has QTS/EYTS date"): the QTS race, when the award reached the record before our
 * update did. Rather than fail a job support can only cancel by hand, the job fetches the record and
 * compares it with the trainee as it will be once awarded (trainees/awarded-record.ts): no difference
 * and the update counts as accepted, with the comparison on the timeline; a difference fails the job
 * as awarded_record_differs, naming the fields (never their values).
 */
import type { PlannedCall } from "../clients/teacher-records.js";
import { SyncError } from "../errors.js";
import { awardedRecordDifferences } from "../trainees/awarded-record.js";
import type { Classified } from "./classify.js";
import type { SyncContext } from "./job.js";
import type { CallEvent } from "./send-calls.js";

/** The refusals of an update that mean "the record already holds QTS/EYTS". */
const refusalsOfAnAwardedRecord = new Set(["route_already_awarded", "already_has_qts"]);

export function isAwardedRecordRefusal(operation: string, classified: Classified): boolean {
  return operation === "update" && refusalsOfAnAwardedRecord.has(classified.errorClass.name);
}

/**
 * Answers the event for the timeline when the record matches (the caller writes it with the call's
 * hash, in one statement); throws awarded_record_differs when it does not.
 */
export async function checkAwardedRecord(ctx: SyncContext, call: PlannedCall, classified: Classified): Promise<CallEvent> {
  const { deps, trainee } = ctx;
  const refusal = `${call.method} ${call.endpoint}: ${classified.errorClass.title}${classified.errorCode ? ` (error ${classified.errorCode})` : ""}`;
  if (!trainee.trn) throw new SyncError("trn_missing", `${refusal}, and the trainee has no TRN to fetch the record with`);
  // A failure to fetch is classified as itself (timeout, 5xx…) and retried like any other call.
  const record = await deps.api.getPerson(trainee.trn, { routes: true });
  const differences = awardedRecordDifferences(trainee, record, deps.api.kind);
  if (differences.length > 0) {
    throw new SyncError("awarded_record_differs", `${refusal}; the record differs from ours in: ${differences.join(", ")}`);
  }
  return {
    kind: "update_ignored",
    outcome: "skipped",
    errorClass: classified.errorClass.name,
    httpStatus: classified.httpStatus,
    errorCode: classified.errorCode,
    message: `${refusal}. The record fetched from the API already holds the award and matches the trainee in every field: counts as accepted`,
  };
}
