/**
 * Rows read with plain SQL on the pool (deps.pool), as the very objects the Prisma client returns
 * for the same rows: camelCase fields, BigInt ids, Date for `timestamp(3)` and `date` columns (both
 * read as UTC, as Prisma stores them), arrays as arrays, nulls as null. The hot path's SQL functions
 * return their rows as JSON (`to_jsonb(row)`, bigint ids as text so that none loses precision), so
 * the conversion works on that form; test/db/rows.prisma-agrees.test.ts compares it with Prisma's reads.
 */
import type pg from "pg";
import type { SyncTask, SyncTaskKind, SyncTaskState, Trainee, TraineeState } from "../generated/prisma/client.js";

/** A row as `to_jsonb(row)` gives it (or a pg row of the same columns). */
export type JsonRow = Record<string, unknown>;

/** A `timestamp` or `date` value, stored as UTC: "2026-12-03T08:35:19.12", "2026-12-03", or a Date pg already parsed. */
function toDate(value: unknown, column: string): Date {
  if (value instanceof Date) return value;
  if (typeof value !== "string") throw new Error(`${column}: expected a timestamp, got ${typeof value}`);
  const match = /^(\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(value);
  if (!match) throw new Error(`${column}: not a timestamp Prisma would read: ${value}`);
  const [, year, month, day, hours = "0", minutes = "0", seconds = "0", fraction = ""] = match;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: the latter reads years 0-99 as 1900-1999
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hours), Number(minutes), Number(seconds), Math.round(Number(`0.${fraction || "0"}`) * 1000));
  return date;
}

const dateOrNull = (value: unknown, column: string): Date | null => (value === null || value === undefined ? null : toDate(value, column));

function text(value: unknown, column: string): string {
  if (typeof value !== "string") throw new Error(`${column}: expected text, got ${typeof value}`);
  return value;
}

const textOrNull = (value: unknown, column: string): string | null => (value === null || value === undefined ? null : text(value, column));

function int(value: unknown, column: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Error(`${column}: expected an integer, got ${String(value)}`);
  return value;
}

const intOrNull = (value: unknown, column: string): number | null => (value === null || value === undefined ? null : int(value, column));

function bigint(value: unknown, column: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`${column}: expected a bigint, got ${String(value)}`);
}

/** A text[] column: NULL reads as [], as Prisma reads it (the column is nullable in the table). */
function texts(value: unknown, column: string): string[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${column}: expected an array`);
  return value.map((item) => text(item, column));
}

/** A sync_tasks row as Prisma's SyncTask. */
export function syncTaskFromRow(row: JsonRow): SyncTask {
  return {
    id: bigint(row.id, "id"),
    traineeId: text(row.trainee_id, "trainee_id"),
    kind: text(row.kind, "kind") as SyncTaskKind,
    phase: int(row.phase, "phase"),
    state: text(row.state, "state") as SyncTaskState,
    trnRequestId: textOrNull(row.trn_request_id, "trn_request_id"),
    traceContext: textOrNull(row.trace_context, "trace_context"),
    availableAt: toDate(row.available_at, "available_at"),
    attempts: int(row.attempts, "attempts"),
    claimCount: int(row.claim_count, "claim_count"),
    stalls: int(row.stalls, "stalls"),
    errorClass: textOrNull(row.error_class, "error_class"),
    httpStatus: intOrNull(row.http_status, "http_status"),
    errorCode: intOrNull(row.error_code, "error_code"),
    errorMessage: textOrNull(row.error_message, "error_message"),
    failedAt: dateOrNull(row.failed_at, "failed_at"),
    startedAt: dateOrNull(row.started_at, "started_at"),
    finishedAt: dateOrNull(row.finished_at, "finished_at"),
    createdAt: toDate(row.created_at, "created_at"),
    updatedAt: toDate(row.updated_at, "updated_at"),
  };
}

/** A trainees row as Prisma's Trainee. */
export function traineeFromRow(row: JsonRow): Trainee {
  return {
    id: text(row.id, "id"),
    slug: text(row.slug, "slug"),
    trn: textOrNull(row.trn, "trn"),
    state: text(row.state, "state") as TraineeState,
    firstNames: text(row.first_names, "first_names"),
    middleNames: textOrNull(row.middle_names, "middle_names"),
    lastName: text(row.last_name, "last_name"),
    dateOfBirth: toDate(row.date_of_birth, "date_of_birth"),
    sex: textOrNull(row.sex, "sex"),
    email: textOrNull(row.email, "email"),
    trainingRoute: textOrNull(row.training_route, "training_route"),
    providerUkprn: textOrNull(row.provider_ukprn, "provider_ukprn"),
    providerName: textOrNull(row.provider_name, "provider_name"),
    ittStartDate: dateOrNull(row.itt_start_date, "itt_start_date"),
    ittEndDate: dateOrNull(row.itt_end_date, "itt_end_date"),
    traineeStartDate: dateOrNull(row.trainee_start_date, "trainee_start_date"),
    studyMode: textOrNull(row.study_mode, "study_mode"),
    courseSubjects: texts(row.course_subjects, "course_subjects"),
    courseMinAge: intOrNull(row.course_min_age, "course_min_age"),
    courseMaxAge: intOrNull(row.course_max_age, "course_max_age"),
    ittQualificationAim: textOrNull(row.itt_qualification_aim, "itt_qualification_aim"),
    nationalInsuranceNumber: textOrNull(row.national_insurance_number, "national_insurance_number"),
    trainingCountry: textOrNull(row.training_country, "training_country"),
    outcomeDate: dateOrNull(row.outcome_date, "outcome_date"),
    withdrawDate: dateOrNull(row.withdraw_date, "withdraw_date"),
    documentHash: text(row.document_hash, "document_hash"),
    submittedForTrnAt: dateOrNull(row.submitted_for_trn_at, "submitted_for_trn_at"),
    trnReceivedAt: dateOrNull(row.trn_received_at, "trn_received_at"),
    recommendedForAwardAt: dateOrNull(row.recommended_for_award_at, "recommended_for_award_at"),
    awardedAt: dateOrNull(row.awarded_at, "awarded_at"),
    discardedAt: dateOrNull(row.discarded_at, "discarded_at"),
    createdAt: toDate(row.created_at, "created_at"),
    updatedAt: toDate(row.updated_at, "updated_at"),
  };
}

/** Where the hot path sends its plain statements: the pool (deps.pool) or one of its clients. */
export type Queryable = pg.Pool | pg.PoolClient;
