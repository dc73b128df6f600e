/**
 * The life of a sync task, the outbox row behind every job (what state-machine.ts is to the
 * trainee): its states, the moves allowed between them, and every write that makes a move. The
 * dispatcher, the job runner, the reconciler, the failed-job listener and the support actions all
 * change task states through the functions here and nowhere else; a trigger in
 * prisma/functions.sql refuses any other move, whoever makes it.
 *
 * Two rules make the writes safe against each other:
 * - **The trainee row lock comes first.** Whoever decides about a trainee's line (a PUT joining an
 *   update, a claim reading the trainee, a support action) first locks the trainee row with
 *   `FOR NO KEY UPDATE`, so those decisions take turns and none acts on a stale view.
 * - **A run's writes are fenced.** A claim increments `claim_count` and returns it; a run may record
 *   its outcome only while the task is still running under that number. A stale run (a stalled
 *   re-run, a job re-added after a Redis wipe, a task cancelled by support meanwhile) changes nothing.
 */
import type pg from "pg";
import { currentTraceparent } from "../trace-context.js";
import type { Prisma, SyncTask, SyncTaskKind, SyncTaskState, Trainee } from "../generated/prisma/client.js";
import type { Db } from "../deps.js";
import { syncTaskFromRow, traineeFromRow, type JsonRow, type Queryable } from "../db/rows.js";
import { recordEvent } from "./events.js";

type Tx = Prisma.TransactionClient;

/** pending: in Postgres only · queued: in BullMQ · running: a worker claimed it · the rest are outcomes. */
export const taskStates = ["pending", "queued", "running", "succeeded", "failed", "cancelled"] as const satisfies readonly SyncTaskState[];

/** States in which a task holds its place in the trainee's line (work behind it waits). */
export const blockingStates = ["pending", "queued", "running", "failed"] as const satisfies readonly SyncTaskState[];

/** In BullMQ, as far as Postgres knows: the reconciler checks these against Redis. */
export const inQueueStates = ["queued", "running"] as const satisfies readonly SyncTaskState[];

/** Not started: a change arriving now is carried by the task when it runs (edits coalesce). */
export const notStartedStates = ["pending", "queued"] as const satisfies readonly SyncTaskState[];

/**
 * Every move a task may make. Anything else is a bug (or a stale writer) and is refused, here and by
 * the database trigger `sync_tasks_transition_guard`.
 */
export const taskTransitions: Readonly<Record<SyncTaskState, readonly SyncTaskState[]>> = {
  // queued: the dispatcher handed it to BullMQ · running: a job for it started anyway (a Bull Board
  // retry) · cancelled: support, a re-submission or a discard
  pending: ["queued", "running", "cancelled"],
  // running: claimed · pending: parked out of turn, or its job was lost from Redis · failed: BullMQ
  // failed the job without the runner recording it (listener, reconciler)
  queued: ["running", "pending", "failed", "cancelled"],
  // queued: poll again later, retry after a transient error, trainee busy, rate limited
  // pending: a re-run found earlier work ahead of it, or its job was lost from Redis
  running: ["succeeded", "queued", "failed", "pending", "cancelled"],
  // pending: support retried it (or a later task of the trainee) · running: Bull Board retried it
  failed: ["pending", "running", "cancelled"],
  succeeded: [],
  cancelled: [],
};

export function canMove(from: SyncTaskState, to: SyncTaskState): boolean {
  return taskTransitions[from].includes(to);
}

/** A named move from some states to one (staying put is no move); checked against the table when this module loads. */
function move<const From extends readonly SyncTaskState[], To extends SyncTaskState>(from: From, to: To) {
  for (const state of from) if (state !== to && !canMove(state, to)) throw new Error(`sync task move ${state} → ${to} is not in the table`);
  return { from: [...from] as SyncTaskState[], to };
}

export const moves = {
  dispatch: move(["pending"], "queued"),
  claim: move(["pending", "queued", "running", "failed"], "running"),
  park: move(["pending", "queued", "running", "failed"], "pending"),
  handBack: move(["queued", "running"], "pending"),
  lostFailure: move(["queued", "running"], "failed"),
  retry: move(["failed"], "pending"),
  cancel: move(["pending", "queued", "running", "failed"], "cancelled"),
  succeed: move(["running"], "succeeded"),
  wait: move(["running"], "queued"),
  fail: move(["running"], "failed"),
};

/**
 * Line order per trainee is (phase, id): TRN work first, then updates and withdrawals, then awards,
 * so an award never overtakes an update, even one that arrives after it (TRS refuses updates once
 * QTS is held: support playbook, "Teacher already has QTS/EYTS date").
 */
export const phaseOf: Record<SyncTaskKind, number> = {
  register_for_trn: 0,
  poll_trn: 0,
  update_trainee: 1,
  withdraw_trainee: 1,
  award_trainee: 2,
};

/**
 * Locks the trainee row for the rest of the transaction. FOR NO KEY UPDATE: PUTs, claims and support
 * actions of one trainee take turns, while rows that merely reference the trainee (events, tasks)
 * can still be inserted.
 */
export async function lockTrainee(tx: Tx, traineeId: string): Promise<Trainee | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM trainees WHERE id = ${traineeId}::uuid FOR NO KEY UPDATE`;
  return rows.length ? tx.trainee.findUnique({ where: { id: traineeId } }) : null;
}

/** The same, by slug. */
export async function lockTraineeBySlug(tx: Tx, slug: string): Promise<Trainee | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM trainees WHERE slug = ${slug} FOR NO KEY UPDATE`;
  return rows[0] ? tx.trainee.findUnique({ where: { id: rows[0].id } }) : null;
}

export interface EnqueueOptions {
  traineeId: string;
  kind: SyncTaskKind;
  now: Date;
  /** not sent before now + delayMs */
  delayMs?: number;
  trnRequestId?: string;
  /** always a new task, never joining one that has not started (a re-submission's own request) */
  fresh?: boolean;
}

/**
 * Adds a task unless one of the same kind has not started yet: that one reads the trainee when it
 * runs, so it carries this change too (several quick edits become one update). A task already
 * running read the trainee before this change, so a new one is added behind it. The caller holds
 * the trainee lock (lockTrainee), which a claim takes too: a task cannot start between this
 * decision and the commit. Returns the task id, new or existing.
 */
export async function enqueueSyncTask(tx: Tx, options: EnqueueOptions): Promise<{ id: bigint; created: boolean }> {
  const { traineeId, kind, now } = options;
  if (kind !== "poll_trn" && !options.fresh) {
    const waiting = await tx.syncTask.findFirst({
      where: { traineeId, kind, state: { in: [...notStartedStates] } },
      select: { id: true },
      orderBy: { id: "asc" },
    });
    if (waiting) return { id: waiting.id, created: false };
  }
  const task = await tx.syncTask.create({
    data: {
      traineeId,
      kind,
      phase: phaseOf[kind],
      availableAt: new Date(now.getTime() + (options.delayMs ?? 0)),
      trnRequestId: options.trnRequestId ?? null,
      // null unless tracing is on: the job then continues the trace of the change that made it
      traceContext: currentTraceparent(),
    },
    select: { id: true },
  });
  return { id: task.id, created: true };
}

/** The trainee's first task still in line, by (phase, id). */
export async function headTask(tx: Tx | Db, traineeId: string) {
  return tx.syncTask.findFirst({
    where: { traineeId, state: { in: [...blockingStates] } },
    orderBy: [{ phase: "asc" }, { id: "asc" }],
  });
}

/** What a run holds after its claim: the only key that lets it record an outcome. */
export interface Fence {
  taskId: bigint;
  claim: number;
}

export type Claim =
  | { kind: "claimed"; task: SyncTask; trainee: Trainee; fence: Fence }
  | { kind: "already-done" | "parked" | "missing"; message: string }
  | { kind: "stalled-out"; message: string };

/**
 * Claims a task for a run: locks the trainee, then the task. A finished task completes at once; a
 * task that is not its trainee's head goes back to pending (and, when support retried a failed one
 * out of turn, the failed tasks before it go first: CONTRACT.md §6, "retrying a failed award whose
 * update also failed runs the update first"); a task found still running lost its worker mid-job,
 * which counts as a stall, and past `maxStalls` in a row it fails as job_stalled.
 *
 * One statement on the pool: the SQL function trs_sync_claim_task (prisma/functions.sql) holds
 * these rules, so a claim is one round trip and waits for a connection as long as the pool makes it
 * (no interactive transaction whose start times out under load).
 */
export async function claimTask(
  pool: Queryable,
  options: { taskId: bigint; attempt: number; now: Date; maxStalls: number },
): Promise<Claim> {
  const { rows } = await pool.query<{ claim: ClaimRow }>("SELECT trs_sync_claim_task($1, $2, $3, $4) AS claim", [
    options.taskId.toString(),
    options.attempt,
    options.now,
    options.maxStalls,
  ]);
  const claim = rows[0]?.claim;
  if (!claim) throw new Error("trs_sync_claim_task returned nothing");
  switch (claim.kind) {
    case "claimed": {
      if (!claim.task || !claim.trainee) throw new Error("trs_sync_claim_task claimed without the rows");
      const task = syncTaskFromRow(claim.task);
      return { kind: "claimed", task, trainee: traineeFromRow(claim.trainee), fence: { taskId: task.id, claim: task.claimCount } };
    }
    case "already-done":
    case "parked":
    case "missing":
    case "stalled-out":
      return { kind: claim.kind, message: claim.message };
  }
}

/** What trs_sync_claim_task returns. */
interface ClaimRow {
  kind: "claimed" | "already-done" | "parked" | "missing" | "stalled-out";
  message: string;
  task?: JsonRow;
  trainee?: JsonRow;
}

/** Tasks of the same trainee before this one in line. */
function before(task: Pick<SyncTask, "id" | "phase">): Prisma.SyncTaskWhereInput {
  return { OR: [{ phase: { lt: task.phase } }, { phase: task.phase, id: { lt: task.id } }] };
}

/** What a task records about the error behind a failure or a retry. */
export interface TaskError {
  errorClass: string;
  httpStatus: number | null;
  errorCode: number | null;
  message: string;
}

const errorColumns = (error: TaskError | null) => ({
  errorClass: error?.errorClass ?? null,
  httpStatus: error?.httpStatus ?? null,
  errorCode: error?.errorCode ?? null,
  errorMessage: error?.message ?? null,
});

export type RunOutcome =
  | { state: "succeeded" }
  /** back in BullMQ, to run again later: polling, a transient error (with it), busy, rate limited */
  | { state: "queued"; error?: TaskError }
  | { state: "failed"; error: TaskError };

/**
 * Records a run's outcome, fenced by its claim. Returns false when the run no longer owns the task
 * (cancelled, re-claimed or handed back meanwhile): the caller then stops quietly. One plain
 * statement on the pool; updated_at is the wall clock, as Prisma's @updatedAt sets it.
 */
export async function recordRun(pool: Queryable, fence: Fence, outcome: RunOutcome, now: Date): Promise<boolean> {
  const { text, values } = recordRunStatement(fence, outcome, now, new Date());
  const { rowCount } = await pool.query(text, values);
  return rowCount === 1;
}

/** The fenced UPDATE behind recordRun: columns as Prisma's updateMany wrote them, times stored as UTC. */
export function recordRunStatement(fence: Fence, outcome: RunOutcome, now: Date, clock: Date): { text: string; values: unknown[] } {
  const values: unknown[] = [fence.taskId.toString(), fence.claim, clock];
  const param = (value: unknown) => `$${values.push(value)}`;
  const utc = (value: Date) => `(${param(value)}::timestamptz AT TIME ZONE 'UTC')`;
  const errorSet = (error: TaskError | null) =>
    `error_class = ${param(error?.errorClass ?? null)}::text, http_status = ${param(error?.httpStatus ?? null)}::int, ` +
    `error_code = ${param(error?.errorCode ?? null)}::int, error_message = ${param(error?.message ?? null)}::text`;
  const set =
    outcome.state === "succeeded"
      ? `state = 'succeeded', finished_at = ${utc(now)}, stalls = 0, ${errorSet(null)}`
      : outcome.state === "queued"
        ? `state = 'queued', stalls = 0${outcome.error ? `, ${errorSet(outcome.error)}` : ""}`
        : `state = 'failed', stalls = 0, failed_at = ${utc(now)}, ${errorSet(outcome.error)}`;
  return {
    text: `UPDATE sync_tasks SET ${set}, updated_at = ($3::timestamptz AT TIME ZONE 'UTC') WHERE id = $1 AND state = 'running' AND claim_count = $2`,
    values,
  };
}

/** Whether the run still owns its task: cancelled, re-claimed or handed back, it does not. */
export async function stillOwns(pool: Queryable, fence: Fence): Promise<boolean> {
  const { rowCount } = await pool.query("SELECT 1 FROM sync_tasks WHERE id = $1 AND state = 'running' AND claim_count = $2", [
    fence.taskId.toString(),
    fence.claim,
  ]);
  return rowCount === 1;
}

/** Sets the TRN request of a running task (a register task that opened a new request), fenced. */
export async function setRunTrnRequest(db: Db | Tx, fence: Fence, trnRequestId: string): Promise<boolean> {
  const { count } = await db.syncTask.updateMany({
    where: { id: fence.taskId, state: "running", claimCount: fence.claim },
    data: { trnRequestId },
  });
  return count === 1;
}

/** A head task the dispatcher marked queued: what its job is made of. */
export interface DispatchedTask {
  id: bigint;
  kind: SyncTaskKind;
  slug: string;
  availableAt: Date;
  traceContext: string | null;
}

/**
 * Dispatcher: opens a transaction on `client` and, in it, marks up to `limit` head tasks queued
 * (pending, with nothing unfinished before them in their trainee's line) and locks them, in one
 * round trip: BEGIN and one `UPDATE … RETURNING` sent as one simple query. The caller puts their
 * jobs in BullMQ and then COMMITs, or ROLLBACKs on any failure so the tasks stay pending; it also
 * rolls back when nothing came back, because this statement fires the NOTIFY trigger
 * (prisma/functions.sql, per statement, matched rows or not) and a committed empty pass would wake
 * the dispatcher again, forever. Rows another dispatcher holds are skipped (SKIP LOCKED).
 */
/**
 * The longest a dispatcher's transaction may stay open while it puts the jobs in BullMQ: past it the
 * dispatcher gives up the pass and Postgres ends the session, so that a Redis that hangs without
 * failing (a frozen node, a network black hole) never holds these rows locked against support
 * actions, discards and PUTs.
 */
export const DISPATCH_TRANSACTION_MS = 60_000;

/** A whole, positive number of milliseconds, safe to write into SQL text. */
export function wholeMs(ms: number): number {
  if (!Number.isFinite(ms) || ms < 1) throw new Error(`not a duration: ${ms}`);
  return Math.ceil(ms);
}

export async function markHeadTasksQueued(
  client: pg.ClientBase,
  options: { limit: number; transactionMs?: number },
): Promise<DispatchedTask[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new Error(`not a batch size: ${options.limit}`);
  // The move moves.dispatch (pending → queued). No parameters (the simple query protocol takes
  // none, and carries BEGIN in the same message): the states are this module's constants and the
  // limit an integer.
  const blocking = blockingStates.map((state) => `'${state}'`).join(", ");
  const [, , update] = (await client.query(`BEGIN;
    SET LOCAL idle_in_transaction_session_timeout = ${wholeMs(options.transactionMs ?? DISPATCH_TRANSACTION_MS)};
    WITH heads AS MATERIALIZED (
      SELECT t.id FROM sync_tasks t
      WHERE t.state = 'pending'
        AND NOT EXISTS (
          SELECT 1 FROM sync_tasks o
          WHERE o.trainee_id = t.trainee_id
            AND o.state IN (${blocking})
            AND (o.phase < t.phase OR (o.phase = t.phase AND o.id < t.id)))
      ORDER BY t.id
      LIMIT ${options.limit}
      FOR UPDATE OF t SKIP LOCKED)
    UPDATE sync_tasks s
    SET state = 'queued', updated_at = statement_timestamp() AT TIME ZONE 'UTC'
    FROM heads h, trainees tr
    WHERE s.id = h.id AND tr.id = s.trainee_id AND s.state = 'pending'
    RETURNING s.id::text AS id, s.kind::text AS kind, tr.slug,
      (extract(epoch FROM s.available_at) * 1000)::float8 AS available_ms, s.trace_context`)) as unknown as [
    pg.QueryResult,
    pg.QueryResult,
    pg.QueryResult<DispatchedRow>,
  ];
  return update.rows
    .map((row) => ({
      id: BigInt(row.id),
      kind: row.kind,
      slug: row.slug,
      // available_at is a UTC timestamp without time zone (as Prisma writes it): its epoch is UTC's
      availableAt: new Date(row.available_ms),
      traceContext: row.trace_context,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

interface DispatchedRow {
  id: string;
  kind: SyncTaskKind;
  slug: string;
  available_ms: number;
  trace_context: string | null;
}

/**
 * Reconciler: BullMQ no longer has the task's job (a Redis wipe), or finished it without the runner
 * recording an outcome: the dispatcher brings it again and the claim decides. Only if nothing
 * touched the row since it was read (`updatedAt`).
 */
export async function handBack(db: Db, task: Pick<SyncTask, "id" | "state" | "updatedAt">): Promise<boolean> {
  if (!moves.handBack.from.includes(task.state)) return false;
  const { count } = await db.syncTask.updateMany({
    where: { id: task.id, state: task.state, updatedAt: task.updatedAt },
    data: { state: moves.handBack.to },
  });
  return count === 1;
}

/**
 * BullMQ failed the task's job for good and the runner did not record it (Postgres failed in the
 * claim or in the last write, the job stalled too often, or its processor crashed): the task fails
 * here too, so it is counted, shown and retried like any other failure, with an event saying so.
 * Only a task still queued or running moves; one the runner already recorded stays as it is.
 */
export async function recordLostFailure(
  db: Db,
  options: { taskId: bigint; error: TaskError; now: Date; jobId: string; jobName: string; onlyIfUpdatedAt?: Date },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const task = await tx.syncTask.findUnique({ where: { id: options.taskId } });
    if (!task || !moves.lostFailure.from.includes(task.state)) return false;
    if (options.onlyIfUpdatedAt && task.updatedAt.getTime() !== options.onlyIfUpdatedAt.getTime()) return false;
    const { count } = await tx.syncTask.updateMany({
      where: { id: task.id, state: task.state, updatedAt: task.updatedAt },
      data: { state: moves.lostFailure.to, failedAt: options.now, ...errorColumns(options.error) },
    });
    if (count !== 1) return false;
    await recordEvent(tx, {
      traineeId: task.traineeId,
      kind: `${task.kind}_failed`,
      outcome: "failure",
      taskId: task.id,
      jobId: options.jobId,
      jobName: options.jobName,
      errorClass: options.error.errorClass,
      httpStatus: options.error.httpStatus,
      errorCode: options.error.errorCode,
      message: `${options.error.message} (the job failed in the queue without recording it; recorded now)`,
      at: options.now,
    });
    return true;
  });
}

/** Support: the failed task and every failed task before it in the trainee's line run again, in order. */
export async function retryFailedTasks(tx: Tx, options: { task: SyncTask; now: Date }): Promise<SyncTask[]> {
  const { task, now } = options;
  const failed = await tx.syncTask.findMany({
    where: { traineeId: task.traineeId, state: { in: moves.retry.from }, OR: [before(task), { id: task.id }] },
    orderBy: [{ phase: "asc" }, { id: "asc" }],
  });
  await tx.syncTask.updateMany({
    where: { id: { in: failed.map((t) => t.id) }, state: { in: moves.retry.from } },
    data: { state: moves.retry.to, availableAt: now },
  });
  return failed;
}

/** Support, re-submission, discard: these tasks leave the line; a run in flight is fenced out. */
export async function cancelTasks(tx: Tx, options: { where: Prisma.SyncTaskWhereInput; now: Date }): Promise<SyncTask[]> {
  const tasks = await tx.syncTask.findMany({ where: { AND: [options.where, { state: { in: moves.cancel.from } }] } });
  if (tasks.length) {
    await tx.syncTask.updateMany({
      where: { id: { in: tasks.map((t) => t.id) }, state: { in: moves.cancel.from } },
      data: { state: moves.cancel.to, finishedAt: options.now },
    });
  }
  return tasks;
}

/** A task that has not started runs at `at` (support's "check now"). */
export async function runNotBefore(tx: Tx, taskId: bigint, at: Date): Promise<void> {
  await tx.syncTask.updateMany({ where: { id: taskId, state: { in: [...notStartedStates] } }, data: { availableAt: at } });
}
