/**
 * The outbox: sync work is written to Postgres in the same transaction as the change that implies
 * it, then moved into BullMQ by the dispatcher (jobs/dispatcher.ts). Order per trainee is
 * (phase, id): TRN work first, then updates and withdrawals, then awards, so an award never
 * overtakes an update, even one that arrives after it (TRS refuses updates once QTS is held:
 * support playbook, "Teacher already has QTS/EYTS date").
 */
import type { Prisma, SyncTaskKind } from "../generated/prisma/client.js";

type Tx = Prisma.TransactionClient;

export const phaseOf: Record<SyncTaskKind, number> = {
  register_for_trn: 0,
  poll_trn: 0,
  update_trainee: 1,
  withdraw_trainee: 1,
  award_trainee: 2,
};

/** States in which a task still holds its place in the trainee's line. */
export const blockingStates = ["pending", "queued", "running", "failed"] as const;

export interface EnqueueOptions {
  traineeId: string;
  kind: SyncTaskKind;
  now: Date;
  /** not sent before now + delayMs */
  delayMs?: number;
  trnRequestId?: string;
}

/**
 * Adds a task unless an equivalent one has not started yet: that one will read the trainee when it
 * runs, so it carries this change too (several quick edits become one update). A task already
 * running read the trainee before this change, so a new one is added behind it.
 * Returns the task id, new or existing.
 */
export async function enqueueSyncTask(tx: Tx, options: EnqueueOptions): Promise<{ id: bigint; created: boolean }> {
  const { traineeId, kind, now } = options;
  if (kind !== "poll_trn") {
    const waiting = await tx.syncTask.findFirst({
      where: { traineeId, kind, state: { in: ["pending", "queued"] } },
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
    },
    select: { id: true },
  });
  return { id: task.id, created: true };
}

/** The trainee's first task still in line, by (phase, id). */
export async function headTask(tx: Tx, traineeId: string) {
  return tx.syncTask.findFirst({
    where: { traineeId, state: { in: [...blockingStates] } },
    orderBy: [{ phase: "asc" }, { id: "asc" }],
  });
}
