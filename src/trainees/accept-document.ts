/**
 * Accepting a trainee document from upstream (PUT /api/v1/trainees/{slug}): stage, check, then
 * apply. The trainee row, a timeline event and the outbox rows for the work the change implies are
 * written in one transaction, or nothing is.
 */
import type pg from "pg";
import type { Db } from "../deps.js";
import { Prisma, type Trainee } from "../generated/prisma/client.js";
import type { TraineeDocument, TraineeStateName } from "./document.js";
import { decideState, syncWorkFor, workCancelledBy } from "./state-machine.js";
import { changedFields, documentComparable, documentHash, rowFields, storedFields } from "./records.js";
import { recordEvent } from "./events.js";
import { cancelTasks, enqueueSyncTask } from "./sync-tasks.js";
import { activeTrnRequest, openTrnRequest } from "./trn-requests.js";
import type { TrnPollConfig } from "./trn-schedule.js";
import { acceptDocumentLean, type SyncState } from "./create-trainee.js";
import { traineeFromRow } from "../db/rows.js";

export type AcceptResult =
  /** `sync`: the trainee's sync state, read with the write (the lean path); absent, the caller reads it */
  | { status: 200 | 201; trainee: Trainee; changed: boolean; work: string[]; sync?: SyncState }
  | { status: 409; body: { error: string; allowedTransitions?: TraineeStateName[] } };

export interface AcceptOptions {
  prisma: Db;
  /**
   * The pg pool under `prisma` (deps.pool). Given, a new trainee and an unchanged document take one
   * statement (create-trainee.ts); every other document, and every document without it, the
   * general path below.
   */
  pool?: pg.Pool;
  doc: TraineeDocument;
  now: Date;
  trnPoll: TrnPollConfig;
  updateDebounceMs: number;
}

class Conflict extends Error {
  constructor(readonly body: { error: string; allowedTransitions?: TraineeStateName[] }) {
    super(body.error);
  }
}

export async function acceptTraineeDocument(options: AcceptOptions): Promise<AcceptResult> {
  if (options.pool) {
    const lean = await acceptLean({ ...options, pool: options.pool });
    if (lean) return lean;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      // maxWait: on a busy process a connection may take longer than Prisma's 2 s default to come
      // free; waiting for one beats answering 503 to a PUT that would have been accepted.
      return await options.prisma.$transaction((tx) => acceptInTransaction(tx, options), {
        maxWait: 10_000,
        timeout: 15_000,
      });
    } catch (error) {
      if (error instanceof Conflict) return { status: 409, body: error.body };
      // Two PUTs creating the same slug at once: the loser retries and finds the row.
      if (attempt < 3 && isUniqueViolation(error, "slug")) continue;
      if (isUniqueViolation(error, "trn")) {
        return { status: 409, body: { error: "this trn belongs to another trainee" } };
      }
      throw error;
    }
  }
}

async function acceptLean(options: AcceptOptions & { pool: pg.Pool }): Promise<AcceptResult | null> {
  try {
    const lean = await acceptDocumentLean(options);
    switch (lean.outcome) {
      case "created":
        return { status: 201, trainee: lean.trainee, changed: true, work: lean.work, sync: lean.sync };
      case "unchanged":
        return { status: 200, trainee: lean.trainee, changed: false, work: [], sync: lean.sync };
      default:
        return null;
    }
  } catch (error) {
    const pgError = error as { code?: unknown; constraint?: unknown };
    if (pgError.code === "23505" && pgError.constraint === "trainees_trn_key") {
      return { status: 409, body: { error: "this trn belongs to another trainee" } };
    }
    throw error;
  }
}

function isUniqueViolation(error: unknown, field: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return false;
  return JSON.stringify(error.meta ?? {}).includes(field);
}

async function acceptInTransaction(tx: Prisma.TransactionClient, options: AcceptOptions): Promise<AcceptResult> {
  const { doc, now } = options;
  // Lock the row: concurrent PUTs of one trainee, a job claiming its work, and support actions take
  // turns, so an edit never joins an update that has already read the trainee (sync-tasks.ts).
  const existing = await lockAndReadBySlug(tx, doc.slug);
  const hash = documentHash(doc);
  if (existing && existing.documentHash === hash) {
    return { status: 200, trainee: existing, changed: false, work: [] };
  }
  if (existing?.trn && doc.trn && existing.trn !== doc.trn) {
    throw new Conflict({ error: `trn ${doc.trn} differs from the stored trn; ask support to correct the record` });
  }
  const trn = existing?.trn ?? doc.trn ?? null; // null never clears a stored TRN
  const decision = decideState({ current: existing?.state ?? null, requested: doc.state, hasTrn: trn !== null });
  if (!decision.ok) throw new Conflict({ error: decision.reason, allowedTransitions: decision.allowedTransitions });
  const state = decision.state;
  const entered = (s: TraineeStateName) => state === s && existing?.state !== s;

  // A document without an aim keeps the one held: TRS clears a route's degree type whenever a
  // route PUT leaves it out (SetRouteToProfessionalStatus replaces every field but the country).
  const effective: TraineeDocument = { ...doc, ittQualificationAim: doc.ittQualificationAim ?? existing?.ittQualificationAim ?? null };
  const fields = rowFields(effective);
  const changed = existing ? changedFields(storedFields(existing), documentComparable(effective)) : [];
  const cancelled = existing ? await cancelCorrectedWork(tx, { traineeId: existing.id, from: existing.state, to: state, now }) : [];
  const timestamps = {
    ...(entered("submitted_for_trn") ? { submittedForTrnAt: now } : {}),
    ...(entered("recommended_for_award") ? { recommendedForAwardAt: now } : {}),
    ...(trn && !existing?.trn ? { trnReceivedAt: now } : {}),
  };
  const trainee = existing
    ? await tx.trainee.update({ where: { id: existing.id }, data: { ...fields, state, trn, documentHash: hash, ...timestamps } })
    : await tx.trainee.create({ data: { slug: doc.slug, ...fields, state, trn, documentHash: hash, ...timestamps } });

  const work = syncWorkFor({
    before: existing ? { state: existing.state, trn: existing.trn } : null,
    after: { state, trn },
    fieldsChanged: changed.length > 0,
  });
  const created: string[] = [];
  for (const kind of work) {
    if (kind === "register_for_trn") {
      // One active TRN request per trainee: a reinstated trainee whose request is still pending keeps it.
      if (await activeTrnRequest(tx, trainee.id)) continue;
      const request = await openTrnRequest(tx, { traineeId: trainee.id, submittedAt: now, config: options.trnPoll });
      await enqueueSyncTask(tx, { traineeId: trainee.id, kind, now, trnRequestId: request.id });
      created.push(kind);
      continue;
    }
    const delayMs = kind === "update_trainee" ? options.updateDebounceMs : 0;
    const result = await enqueueSyncTask(tx, { traineeId: trainee.id, kind, now, delayMs });
    if (result.created) created.push(kind);
  }

  await recordEvent(tx, {
    traineeId: trainee.id,
    kind: existing ? "trainee_changed" : "trainee_created",
    outcome: "info",
    message: describeChange(existing?.state ?? null, state, changed, work, cancelled),
    details: {
      fromState: existing?.state ?? null,
      toState: state,
      changedFields: changed,
      work,
      cancelled: cancelled.map((t) => String(t.id)),
    },
    at: now,
  });
  return { status: existing ? 200 : 201, trainee, changed: true, work: created };
}

/**
 * sync-tasks.ts lockTraineeBySlug in one statement: the lock and the row together (the row as
 * to_jsonb, converted as the lean path converts it, which a test compares with Prisma's reads).
 */
async function lockAndReadBySlug(tx: Prisma.TransactionClient, slug: string): Promise<Trainee | null> {
  const rows = await tx.$queryRaw<
    { row: Record<string, unknown> }[]
  >`SELECT to_jsonb(t) AS row FROM trainees t WHERE slug = ${slug} FOR NO KEY UPDATE`;
  return rows[0] ? traineeFromRow(rows[0].row) : null;
}

function describeChange(
  from: TraineeStateName | null,
  to: TraineeStateName,
  changed: string[],
  work: string[],
  cancelled: { kind: string; id: bigint }[],
): string {
  const parts = [from === null ? `created as ${to}` : from !== to ? `${from} → ${to}` : "details changed"];
  if (changed.length) parts.push(`fields: ${changed.join(", ")}`);
  parts.push(work.length ? `sync: ${work.join(", ")}` : "nothing to sync");
  if (cancelled.length) parts.push(`cancelled: ${cancelled.map((t) => `${t.kind} #${t.id}`).join(", ")}`);
  return parts.join("; ");
}

/**
 * A correction cancels the work it makes unnecessary before it reaches TRS (state-machine.ts
 * workCancelledBy). An award already talking to TRS cannot be taken back: the correction waits.
 */
async function cancelCorrectedWork(
  tx: Prisma.TransactionClient,
  options: { traineeId: string; from: TraineeStateName; to: TraineeStateName; now: Date },
) {
  const kinds = workCancelledBy({ from: options.from, to: options.to });
  if (!kinds.length) return [];
  if (kinds.includes("award_trainee")) {
    const sending = await tx.syncTask.findFirst({ where: { traineeId: options.traineeId, kind: "award_trainee", state: "running" } });
    if (sending) {
      throw new Conflict({
        error:
          "the award is being sent to TRS right now: send the correction again in a minute (if the award is accepted, ask the TRS team to correct it)",
      });
    }
  }
  return cancelTasks(tx, { where: { traineeId: options.traineeId, kind: { in: kinds } }, now: options.now });
}
