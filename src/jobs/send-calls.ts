/**
 * Sends planned calls for update, withdraw and award, skipping every call whose payload equals
 * what the API last accepted for that trainee and endpoint (a hash kept in sent_payloads), so a
 * repeated or coalesced job sends nothing new and says so on the timeline.
 *
 * Statements: the trainee's hashes are read once, at the start (the run holds the trainee lock, so
 * no other job of the trainee writes them meanwhile); after each call its event and its hash are
 * written in one statement, which also answers whether the run still owns its task: a run cancelled
 * or taken over while a call was under way sends nothing more.
 */
import type { Pool } from "pg";
import type { CallResult, PlannedCall, SyncOperation } from "../clients/teacher-records.js";
import { hashOf } from "../trainees/records.js";
import { RunSuperseded } from "../errors.js";
import { checkAwardedRecord, isAwardedRecordRefusal } from "./awarded-elsewhere.js";
import { classify } from "./classify.js";
import type { SyncContext } from "./job.js";
import { jobNames } from "./queues.js";

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
  const sentPayloads = await readSentPayloads(deps.pool, trainee.id);
  for (const [index, call] of calls.entries()) {
    const last = index === calls.length - 1;
    const hash = hashOf({ method: call.method, path: call.path, body: call.body });
    const previous = sentPayloads.get(call.endpoint);
    if (previous?.hash === hash) {
      report.skipped.push(call);
      continue;
    }
    if (previous?.refusedCode != null) {
      // e.g. TRS's 10041: it refuses this trainee's personal-detail changes whatever we send
      report.refused.push(call);
      const owned = await writeCallOutcome(ctx, {
        event: {
          kind: `${operation}_not_sent`,
          outcome: "skipped",
          errorCode: previous.refusedCode,
          message: `${call.method} ${call.endpoint} not sent: the API refused it for good (error ${previous.refusedCode}) on ${previous.acceptedAt.toISOString()}`,
        },
      });
      if (!owned && !last) throw new RunSuperseded();
      continue;
    }
    let refusedCode: number | null = null;
    let event: CallEvent;
    try {
      const result = await deps.api.send(call);
      report.sent.push({ call, result });
      event = {
        kind: `${operation}_sent`,
        outcome: "success",
        httpStatus: result.status,
        message: `${call.method} ${call.endpoint} accepted`,
        details: { endpoint: call.endpoint },
      };
    } catch (error) {
      const classified = classify(error, { operation });
      if (isAwardedRecordRefusal(operation, classified)) {
        // the QTS race: throws unless the record already holds exactly what we would send
        event = await checkAwardedRecord(ctx, call, classified);
      } else {
        if (classified.errorClass.kind !== "ignorable") throw error;
        if (classified.errorClass.refusedForGood) refusedCode = classified.errorCode;
        event = {
          kind: `${operation}_ignored`,
          outcome: "skipped",
          errorClass: classified.errorClass.name,
          httpStatus: classified.httpStatus,
          errorCode: classified.errorCode,
          message: `${call.method} ${call.endpoint}: ${classified.errorClass.title} (counts as accepted)`,
        };
      }
      report.ignored.push({ call, errorClass: classified.errorClass.name });
    }
    const payload = { endpoint: call.endpoint, hash, acceptedAt: ctx.now, refusedCode };
    const owned = await writeCallOutcome(ctx, { event, payload });
    sentPayloads.set(call.endpoint, payload);
    // cancelled or discarded while this call was under way: send nothing more
    if (!owned && !last) throw new RunSuperseded();
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

/** What the API last accepted for one endpoint of a trainee (a row of sent_payloads). */
export interface SentPayloadRow {
  endpoint: string;
  hash: string;
  acceptedAt: Date;
  refusedCode: number | null;
}

/** An event of a run, as SyncContext.event takes it. */
export type CallEvent = Parameters<SyncContext["event"]>[0];

/** The trainee's hashes by endpoint, in one statement. */
export async function readSentPayloads(pool: Pool, traineeId: string): Promise<Map<string, SentPayloadRow>> {
  const { rows } = await pool.query<SentPayloadRow>(
    `SELECT endpoint, hash, accepted_at AT TIME ZONE 'UTC' AS "acceptedAt", refused_code AS "refusedCode"
       FROM sent_payloads WHERE trainee_id = $1::uuid`,
    [traineeId],
  );
  return new Map(rows.map((row) => [row.endpoint, row]));
}

/**
 * A call's outcome in one statement: its event (what SyncContext.event writes), its hash upserted
 * when given (as the Prisma upsert did), and whether the run still owns its task (the fence: the
 * task running under this run's claim). The writes land either way: the API has the call.
 * Timestamps are UTC wall times, as Prisma writes them.
 */
export async function writeCallOutcome(ctx: SyncContext, write: { event: CallEvent; payload?: SentPayloadRow }): Promise<boolean> {
  const { deps, trainee, task, fence, jobId } = ctx;
  const { event, payload } = write;
  const { rows } = await deps.pool.query<{ owned: boolean }>(
    `WITH event AS (
       INSERT INTO sync_events (trainee_id, kind, outcome, message, job_name, job_id, task_id, error_class, http_status, error_code, details, created_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::bigint, $8, $9::integer, $10::integer, $11::jsonb, ($12::timestamptz AT TIME ZONE 'UTC'))
     ), payload AS (
       INSERT INTO sent_payloads (trainee_id, endpoint, hash, accepted_at, refused_code)
       SELECT $1::uuid, $13, $14, ($15::timestamptz AT TIME ZONE 'UTC'), $16::integer WHERE $14::text IS NOT NULL
       ON CONFLICT (trainee_id, endpoint) DO UPDATE
         SET hash = EXCLUDED.hash, accepted_at = EXCLUDED.accepted_at, refused_code = EXCLUDED.refused_code
     )
     SELECT EXISTS (SELECT 1 FROM sync_tasks WHERE id = $17::bigint AND state = 'running' AND claim_count = $18::integer) AS owned`,
    [
      trainee.id,
      event.kind,
      event.outcome,
      event.message ?? null,
      jobNames[task.kind],
      jobId,
      task.id.toString(),
      event.errorClass ?? null,
      event.httpStatus ?? null,
      event.errorCode ?? null,
      event.details === undefined ? null : JSON.stringify(event.details),
      (event.at ?? deps.now()).toISOString(),
      payload?.endpoint ?? null,
      payload?.hash ?? null,
      payload?.acceptedAt.toISOString() ?? null,
      payload?.refusedCode ?? null,
      fence.taskId.toString(),
      fence.claim,
    ],
  );
  return rows[0]?.owned === true;
}
