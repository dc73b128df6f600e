/**
 * Support's bulk actions on failed jobs (the failed-jobs page): retry or cancel many at once, in
 * batches of trainees, each batch one transaction that locks its trainees first (in id order, so
 * two bulk actions never deadlock), with the moves of sync-tasks.ts and a timeline event per
 * trainee. A plan says beforehand what an action will touch and in what order.
 *
 * Retrying is order-aware, as for one job: a selected job runs again after every failed job before
 * it in its trainee's line (an award after its update), never before.
 *
 * Each batch is one record in the audit log, written in the batch's transaction (so a batch is
 * recorded exactly when it happened) with that batch's jobs and trainees and its result; a batch
 * that fails is recorded as failed. Not one record for the whole action (whose targets would be
 * cut short at thousands of jobs, and which says nothing true when a later batch fails), and not
 * one per job (hundreds of thousands of rows for one click).
 */
import { recordAudit } from "../audit.js";
import type { Db } from "../deps.js";
import { Prisma, type SyncTaskKind } from "../generated/prisma/client.js";
import { insertRows } from "../db/bulk-insert.js";
import { moves } from "./sync-tasks.js";
import { SupportActionError } from "../errors.js";

/** Trainees per transaction (and per audit record). */
const defaultBatchSize = 500;

export interface BulkOptions {
  taskIds: bigint[];
  /** who acts: on the timeline and in the audit log */
  actor: string;
  now: Date;
  /** the audit log's action for each batch's record, e.g. `retry-failed-jobs` */
  auditAction: string;
  /** trainees per batch; default 500 */
  batchSize?: number;
  /**
   * A confirmed plan: `taskIds` is the whole plan, and a batch whose trainees now plan to anything
   * else (retry), or in which a planned job is no longer failed (cancel), is rolled back with a
   * SupportActionError.
   */
  exact?: boolean;
}

export interface PlannedTask {
  id: bigint;
  kind: SyncTaskKind;
  errorClass: string | null;
}

export interface TraineePlan {
  traineeId: string;
  slug: string;
  /** retry: the jobs that run again, in order; cancel: the jobs cancelled */
  tasks: PlannedTask[];
  /** cancel only: what runs next for the trainee once these are cancelled */
  next: PlannedTask | null;
}

interface Row {
  traineeId: string;
  slug: string;
  id: bigint;
  kind: SyncTaskKind;
  errorClass: string | null;
}

function group(rows: Row[]): TraineePlan[] {
  const plans = new Map<string, TraineePlan>();
  for (const row of rows) {
    const plan = plans.get(row.traineeId) ?? { traineeId: row.traineeId, slug: row.slug, tasks: [], next: null };
    plan.tasks.push({ id: row.id, kind: row.kind, errorClass: row.errorClass });
    plans.set(row.traineeId, plan);
  }
  return [...plans.values()];
}

/** The failed jobs a retry of `taskIds` runs again: per trainee, each selected job and every failed job before it. */
function retryRows(db: Db | Prisma.TransactionClient, taskIds: bigint[]) {
  return db.$queryRaw<Row[]>`
    WITH last AS (
      SELECT DISTINCT ON (trainee_id) trainee_id, phase, id FROM sync_tasks
      WHERE id = ANY(${taskIds}) AND state = 'failed'
      ORDER BY trainee_id, phase DESC, id DESC)
    SELECT t.trainee_id AS "traineeId", tr.slug, t.id, t.kind::text AS kind, t.error_class AS "errorClass"
    FROM sync_tasks t JOIN last l ON l.trainee_id = t.trainee_id JOIN trainees tr ON tr.id = t.trainee_id
    WHERE t.state = 'failed' AND (t.phase, t.id) <= (l.phase, l.id)
    ORDER BY tr.slug, t.phase, t.id`;
}

export async function planRetry(db: Db, taskIds: bigint[]): Promise<TraineePlan[]> {
  return group(await retryRows(db, taskIds));
}

export async function planCancel(db: Db, taskIds: bigint[]): Promise<TraineePlan[]> {
  const rows = await db.$queryRaw<Row[]>`
    SELECT t.trainee_id AS "traineeId", tr.slug, t.id, t.kind::text AS kind, t.error_class AS "errorClass"
    FROM sync_tasks t JOIN trainees tr ON tr.id = t.trainee_id
    WHERE t.id = ANY(${taskIds}) AND t.state = 'failed'
    ORDER BY tr.slug, t.phase, t.id`;
  const plans = group(rows);
  if (!plans.length) return plans;
  // what heads each trainee's line once the selected jobs are gone
  const heads = await db.$queryRaw<(Row & { traineeId: string })[]>`
    SELECT DISTINCT ON (t.trainee_id) t.trainee_id AS "traineeId", '' AS slug, t.id, t.kind::text AS kind, t.error_class AS "errorClass"
    FROM sync_tasks t
    WHERE t.trainee_id = ANY(CAST(${plans.map((p) => p.traineeId)} AS uuid[]))
      AND t.state IN ('pending', 'queued', 'running', 'failed') AND NOT (t.id = ANY(${taskIds}))
    ORDER BY t.trainee_id, t.phase, t.id`;
  const next = new Map(heads.map((h) => [h.traineeId, { id: h.id, kind: h.kind, errorClass: h.errorClass }]));
  for (const plan of plans) plan.next = next.get(plan.traineeId) ?? null;
  return plans;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function lockTrainees(tx: Prisma.TransactionClient, traineeIds: string[]) {
  await tx.$queryRaw`SELECT id FROM trainees WHERE id = ANY(CAST(${traineeIds} AS uuid[])) ORDER BY id FOR NO KEY UPDATE`;
}

/** A confirmed plan no longer matches what is failed: its batch is rolled back. */
const planChanged = () =>
  new SupportActionError("The failed jobs changed while the plan was being carried out: the rest was not done. Review the plan again.");

const sameIds = (a: bigint[], b: bigint[]) => {
  const sorted = (ids: bigint[]) => [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).join(",");
  return sorted(a) === sorted(b);
};

/** The selected tasks in batches of trainees (in trainee id order, the order their locks are taken in). */
async function batches(db: Db, options: BulkOptions): Promise<{ traineeIds: string[]; ids: bigint[] }[]> {
  const owners = await db.syncTask.findMany({ where: { id: { in: options.taskIds } }, select: { id: true, traineeId: true } });
  const byTrainee = new Map<string, bigint[]>();
  for (const { id, traineeId } of owners) byTrainee.set(traineeId, [...(byTrainee.get(traineeId) ?? []), id]);
  return chunks([...byTrainee.keys()].sort(), options.batchSize ?? defaultBatchSize).map((traineeIds) => ({
    traineeIds,
    ids: traineeIds.flatMap((id) => byTrainee.get(id)!),
  }));
}

/** Runs each batch, recording it in the audit log; a failed batch is recorded as failed and stops the action. */
async function inBatches(
  db: Db,
  options: BulkOptions,
  verb: string,
  run: (tx: Prisma.TransactionClient, batch: { traineeIds: string[]; ids: bigint[] }) => Promise<TraineePlan[]>,
): Promise<TraineePlan[]> {
  const done: TraineePlan[] = [];
  const all = await batches(db, options);
  for (const [index, batch] of all.entries()) {
    const details = { batch: index + 1, batches: all.length };
    try {
      const plans = await db.$transaction(
        async (tx) => {
          const planned = await run(tx, batch);
          const tasks = planned.flatMap((p) => p.tasks);
          if (tasks.length) {
            await recordAudit(tx, {
              actor: options.actor,
              action: options.auditAction,
              targets: [...tasks.map((t) => `task:${t.id}`), ...planned.map((p) => `trainee:${p.slug}`)],
              result: `ok: ${verb} ${tasks.length} job${tasks.length === 1 ? "" : "s"} for ${planned.length} trainee${planned.length === 1 ? "" : "s"} (batch ${index + 1} of ${all.length})`,
              details,
            });
          }
          return planned;
        },
        { timeout: 60_000 },
      );
      done.push(...plans);
    } catch (error) {
      await recordAudit(db, {
        actor: options.actor,
        action: options.auditAction,
        targets: batch.ids.map((id) => `task:${id}`),
        result: `${error instanceof SupportActionError ? "refused" : "failed"}: batch ${index + 1} of ${all.length}, nothing in it done: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim()}`,
        details,
      }).catch(() => {});
      throw error;
    }
  }
  return done;
}

/** Retries the selected failed jobs (and the failed jobs before each); returns what ran again, per trainee. */
export async function retryInBulk(db: Db, options: BulkOptions): Promise<TraineePlan[]> {
  const { now } = options;
  return inBatches(db, options, "retried", async (tx, { traineeIds, ids }) => {
    await lockTrainees(tx, traineeIds);
    const planned = group(await retryRows(tx, ids));
    const all = planned.flatMap((p) => p.tasks.map((t) => t.id));
    if (options.exact && !sameIds(all, ids)) throw planChanged();
    if (!all.length) return planned;
    await tx.syncTask.updateMany({
      where: { id: { in: all }, state: { in: moves.retry.from } },
      data: { state: moves.retry.to, availableAt: now, attempts: 0 },
    });
    await insertRows(
      tx,
      "sync_events",
      planned.map((plan) => ({
        trainee_id: plan.traineeId,
        kind: "retry_requested",
        outcome: "info",
        task_id: plan.tasks[plan.tasks.length - 1]!.id,
        message: `${options.actor} retried ${plan.tasks.map((t) => `${t.kind} #${t.id}`).join(", then ")}`,
        created_at: now,
      })),
    );
    return planned;
  });
}

/** Cancels the selected failed jobs, with the reason on each trainee's timeline; returns what was cancelled. */
export async function cancelInBulk(db: Db, options: BulkOptions & { reason: string }): Promise<TraineePlan[]> {
  const { now } = options;
  return inBatches(db, options, "cancelled", async (tx, { traineeIds, ids }) => {
    await lockTrainees(tx, traineeIds);
    const rows = await tx.$queryRaw<Row[]>`
      UPDATE sync_tasks t SET state = 'cancelled', finished_at = ${now}, updated_at = ${now}
      FROM trainees tr WHERE tr.id = t.trainee_id AND t.id = ANY(${ids}) AND t.state = 'failed'
      RETURNING t.trainee_id AS "traineeId", tr.slug, t.id, t.kind::text AS kind, t.error_class AS "errorClass"`;
    if (options.exact && rows.length !== ids.length) throw planChanged();
    await insertRows(
      tx,
      "sync_events",
      rows.map((row) => ({
        trainee_id: row.traineeId,
        kind: `${row.kind}_cancelled`,
        outcome: "info",
        task_id: row.id,
        error_class: row.errorClass,
        message: `${options.actor} cancelled ${row.kind} #${row.id} (${row.errorClass ?? "failed"}): ${options.reason}`,
        created_at: now,
      })),
    );
    return group(rows);
  });
}
