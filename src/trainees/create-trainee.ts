/**
 * The lean PUT: a trainee document in one statement on the pg pool (the SQL function
 * `trs_sync_accept_document`, prisma/functions.sql), for the two cases that need no decision
 * against the stored row. A new trainee: its row, TRN request, outbox rows and timeline event,
 * decided here exactly as accept-document.ts decides them for a trainee it does not find, and
 * read back with the sync state the API answers with. A document identical to the stored one:
 * the stored row and its sync state, nothing written. Anything else ("changed", "absent") goes
 * the general way (accept-document.ts).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { SyncEvent, SyncTask, Trainee } from "../generated/prisma/client.js";
import { currentTraceparent } from "../trace-context.js";
import { syncTaskFromRow, traineeFromRow } from "../db/rows.js";
import type { TraineeDocument } from "./document.js";
import { documentHash, rowFields } from "./records.js";
import { decideState, syncWorkFor } from "./state-machine.js";
import { phaseOf } from "./sync-tasks.js";
import { trnDeadline, type TrnPollConfig } from "./trn-schedule.js";

/** A trainee's tasks still in line (line order) and its last timeline event, as the API shows them. */
export interface SyncState {
  tasks: SyncTask[];
  lastEvent: SyncEvent | null;
}

export type LeanAccept =
  | { outcome: "created"; trainee: Trainee; sync: SyncState; work: string[] }
  | { outcome: "unchanged"; trainee: Trainee; sync: SyncState }
  /** the trainee exists and the document differs; or it does not, and the document cannot create it */
  | { outcome: "changed" | "absent" };

export interface LeanAcceptOptions {
  pool: pg.Pool;
  doc: TraineeDocument;
  now: Date;
  trnPoll: TrnPollConfig;
  updateDebounceMs: number;
  /** what a created row's created_at and updated_at say, as Prisma's own clock would (default: the real time) */
  clock?: Date;
}

/** A UTF-16 surrogate without its pair: valid in a JS string (and so in a validated document), not in UTF-8. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A jsonb parameter. Postgres refuses a JSON text escaping a lone surrogate (`"\ud800"`, 22P02),
 * where the general path's text parameters store it as U+FFFD (Node encodes it so in UTF-8): the
 * same replacement here, so that both paths store the same text and such a document is not a 500.
 */
function jsonParameter(value: unknown): string | null {
  if (value === null) return null;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === "string" ? item.replace(loneSurrogate, "\uFFFD") : item));
}

const acceptStatement = "SELECT trs_sync_accept_document($1, $2, $3, $4, $5, $6, $7, $8) AS result";

/**
 * One statement. A TRN belonging to another trainee fails it with the unique violation on
 * `trainees_trn_key`, as the general path's create does (nothing is written).
 */
export async function acceptDocumentLean(options: LeanAcceptOptions): Promise<LeanAccept> {
  const { doc } = options;
  const hash = documentHash(doc);
  const create = newTrainee(options);
  const { rows } = await options.pool.query<{ result: RawResult }>({
    // a named statement: parsed and planned once per connection
    name: "trs_sync_accept_document",
    text: acceptStatement,
    values: [
      doc.slug,
      hash,
      jsonParameter(create?.trainee ?? null),
      jsonParameter(create?.request ?? null),
      jsonParameter(create?.tasks ?? []),
      jsonParameter(create?.event ?? null),
      create ? currentTraceparent() : null,
      utc(options.clock ?? new Date()),
    ],
  });
  const result = rows[0]!.result;
  if (result.outcome === "changed" || result.outcome === "absent") return { outcome: result.outcome };
  const trainee = traineeFromRow(result.trainee!);
  const sync = syncStateFromRow(result);
  if (result.outcome === "unchanged") return { outcome: "unchanged", trainee, sync };
  return { outcome: "created", trainee, sync, work: create!.work };
}

/**
 * What the general path writes for a trainee it does not find (accept-document.ts with no
 * existing row), or null when the document cannot create one (decideState refuses: the general
 * path answers the 409).
 */
function newTrainee(options: LeanAcceptOptions) {
  const { doc, now } = options;
  const trn = doc.trn ?? null;
  const decision = decideState({ current: null, requested: doc.state, hasTrn: trn !== null });
  if (!decision.ok) return null;
  const state = decision.state;
  const work = syncWorkFor({ before: null, after: { state, trn }, fieldsChanged: false });
  const fields: Record<string, unknown> = { ...rowFields({ ...doc, ittQualificationAim: doc.ittQualificationAim ?? null }), state, trn };
  if (state === "submitted_for_trn") fields.submittedForTrnAt = now;
  if (state === "recommended_for_award") fields.recommendedForAwardAt = now;
  if (trn) fields.trnReceivedAt = now;
  const trainee = Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [snakeCase(key), value instanceof Date ? utc(value) : value]),
  );
  const request = work.includes("register_for_trn")
    ? { requestId: randomUUID(), submittedAt: utc(now), deadlineAt: utc(trnDeadline(now, options.trnPoll)) }
    : null;
  const tasks = work.map((kind) => ({
    kind,
    phase: phaseOf[kind],
    availableAt: utc(new Date(now.getTime() + (kind === "update_trainee" ? options.updateDebounceMs : 0))),
  }));
  const event = {
    kind: "trainee_created",
    outcome: "info",
    // accept-document.ts describeChange for a new trainee: nothing changed, nothing cancelled
    message: [`created as ${state}`, work.length ? `sync: ${work.join(", ")}` : "nothing to sync"].join("; "),
    details: { fromState: null, toState: state, changedFields: [], work, cancelled: [] },
    at: utc(now),
  };
  return { trainee, request, tasks, event, work: [...work] };
}

/** UTC wall time, as the timestamp-without-time-zone columns hold it (Postgres ignores the Z). */
const utc = (date: Date) => date.toISOString();
const snakeCase = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

type Row = Record<string, unknown>;
interface RawResult {
  outcome: "created" | "unchanged" | "changed" | "absent";
  trainee?: Row;
  tasks?: Row[];
  lastEvent?: Row | null;
}

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
const int = (value: unknown) => (value === null || value === undefined ? null : Number(value));
/** timestamp(3) as to_jsonb writes it: `2026-12-03T08:35:20.12`, UTC without the zone */
const timestamp = (value: unknown) => (value === null || value === undefined ? null : new Date(`${String(value)}Z`));

function eventFromRow(row: Row): SyncEvent {
  return {
    id: BigInt(String(row.id)),
    traineeId: String(row.trainee_id),
    kind: String(row.kind),
    outcome: String(row.outcome),
    jobName: text(row.job_name),
    jobId: text(row.job_id),
    taskId: row.task_id === null || row.task_id === undefined ? null : BigInt(String(row.task_id)),
    errorClass: text(row.error_class),
    httpStatus: int(row.http_status),
    errorCode: int(row.error_code),
    message: text(row.message),
    details: (row.details ?? null) as SyncEvent["details"],
    createdAt: timestamp(row.created_at)!,
  };
}

function syncStateFromRow(result: { tasks?: Row[]; lastEvent?: Row | null }): SyncState {
  return {
    tasks: (result.tasks ?? []).map((row) => syncTaskFromRow(row)),
    lastEvent: result.lastEvent ? eventFromRow(result.lastEvent) : null,
  };
}

/** The sync state of a trainee in one statement (after the general path has written). */
export async function readSyncState(pool: pg.Pool, traineeId: string): Promise<SyncState> {
  const { rows } = await pool.query<{ result: { tasks: Row[]; lastEvent: Row | null } }>({
    name: "trs_sync_trainee_sync",
    text: "SELECT trs_sync_trainee_sync($1::uuid) AS result",
    values: [traineeId],
  });
  return syncStateFromRow(rows[0]!.result);
}
