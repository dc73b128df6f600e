/**
 * The audit log (CONTRACT.md §8): every support action, from the dashboard, Bull Board, the CLI or
 * the API, with who, what, which jobs or trainees, when, and the result. Append-only: a trigger
 * refuses UPDATE, DELETE and TRUNCATE (prisma/functions.sql).
 */
import type { Db } from "./deps.js";
import { Prisma } from "./generated/prisma/client.js";
import { SupportActionError } from "./errors.js";

/**
 * Targets kept per entry; an entry over more records the count and the first ones. A bulk batch
 * (500 trainees and their failed jobs, sync-tasks-bulk.ts) fits whole.
 */
const maxTargets = 5_000;

export interface AuditInput {
  actor: string;
  action: string;
  /** e.g. `task:12`, `trainee:abc` */
  targets: string[];
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Db | Prisma.TransactionClient, entry: AuditInput & { result: string }): Promise<void> {
  const details = { ...entry.details, ...(entry.targets.length > maxTargets ? { targetCount: entry.targets.length } : {}) };
  await db.auditEntry.create({
    data: {
      actor: entry.actor,
      action: entry.action,
      targets: entry.targets.slice(0, maxTargets),
      result: entry.result.slice(0, 1_000),
      ...(Object.keys(details).length ? { details: details as Prisma.InputJsonValue } : {}),
    },
  });
}

/**
 * Runs a support action and records it, whatever happens: `ok: <summary>` when it succeeds,
 * `refused: <reason>` for a SupportActionError (shown to the user), `failed: <error>` otherwise.
 * The action's own result is returned (or its error thrown) unchanged.
 */
export async function audited<T>(db: Db, entry: AuditInput, run: () => Promise<T>, summary: (result: T) => string): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (error) {
    const refused = error instanceof SupportActionError;
    const text = error instanceof Error ? error.message : String(error);
    await recordAudit(db, { ...entry, result: `${refused ? "refused" : "failed"}: ${text}` }).catch(() => {});
    throw error;
  }
  await recordAudit(db, { ...entry, result: `ok: ${summary(result)}` });
  return result;
}
