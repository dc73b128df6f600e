/**
 * /admin: how much sync work there is, by job type and state, which error classes the failed jobs
 * have, and the latest failures with links to their trainees. Counted from the outbox
 * (sync_tasks) in Postgres, which holds every job, including the ones not in Redis right now; the
 * (state, kind) and (state, error_class) indexes answer the group-bys.
 */
import type { Db, Deps } from "../deps.js";
import { SyncTaskKind, SyncTaskState } from "../generated/prisma/enums.js";
import { jobNames } from "../jobs/queues.js";
import { errorClassInfo } from "./layout.js";

const kinds = Object.values(SyncTaskKind);
const states = Object.values(SyncTaskState);

export interface Overview {
  /** count per kind, then per state; every kind and state present */
  byKind: Record<SyncTaskKind, Record<SyncTaskState, number>>;
  failedByClass: { errorClass: string | null; count: number }[];
  recentFailures: {
    taskId: bigint;
    slug: string;
    kind: SyncTaskKind;
    errorClass: string | null;
    attempts: number;
    failedAt: Date | null;
  }[];
}

export async function loadOverview(db: Db): Promise<Overview> {
  const [byKindState, failedByClass, recent] = await Promise.all([
    db.syncTask.groupBy({ by: ["kind", "state"], _count: { _all: true } }),
    db.syncTask.groupBy({ by: ["errorClass"], where: { state: "failed" }, _count: { _all: true } }),
    db.syncTask.findMany({
      where: { state: "failed" },
      orderBy: [{ failedAt: { sort: "desc", nulls: "last" } }, { id: "desc" }],
      take: 20,
      select: { id: true, kind: true, errorClass: true, attempts: true, failedAt: true, trainee: { select: { slug: true } } },
    }),
  ]);
  const byKind = Object.fromEntries(
    kinds.map((kind) => [kind, Object.fromEntries(states.map((state) => [state, 0]))]),
  ) as Overview["byKind"];
  for (const row of byKindState) byKind[row.kind][row.state] = row._count._all;
  return {
    byKind,
    failedByClass: failedByClass
      .map((row) => ({ errorClass: row.errorClass, count: row._count._all }))
      .sort((a, b) => b.count - a.count || String(a.errorClass).localeCompare(String(b.errorClass))),
    recentFailures: recent.map((task) => ({
      taskId: task.id,
      slug: task.trainee.slug,
      kind: task.kind,
      errorClass: task.errorClass,
      attempts: task.attempts,
      failedAt: task.failedAt,
    })),
  };
}

/** Alerts Slack never took (about a day of attempts), and the oldest pending TRN and award. */
export async function loadAttention(db: Db) {
  const [failedAlerts, pendingTrns, pendingAwards] = await Promise.all([
    db.alert.count({ where: { state: "failed" } }),
    db.trnRequest.count({ where: { state: { in: ["requested", "pending", "timed_out"] }, trainee: { trn: null } } }),
    db.trainee.count({ where: { state: "recommended_for_award" } }),
  ]);
  return { failedAlerts, pendingTrns, pendingAwards };
}

/**
 * The circuit breaker, for the banner at the top: open (since when, why, what happens next),
 * closed, or unknown while Redis does not answer (the rest of the page comes from Postgres).
 */
export async function loadCircuit(deps: Pick<Deps, "circuit">) {
  try {
    const state = await deps.circuit.read();
    if (!state.open) return { state: "closed" as const };
    return {
      state: "open" as const,
      since: state.since,
      reason: state.reason,
      title: errorClassInfo(state.reason)?.title ?? state.reason,
      detail: state.detail,
      probeEverySeconds: Math.round(deps.circuit.settings.probeIntervalMs / 1000),
    };
  } catch {
    return { state: "unknown" as const };
  }
}

export function overviewView(overview: Overview) {
  return {
    states,
    rows: kinds.map((kind) => {
      const counts = overview.byKind[kind];
      return { kind, jobType: jobNames[kind], counts, total: states.reduce((sum, state) => sum + counts[state], 0) };
    }),
    failedByClass: overview.failedByClass.map((row) => ({ ...row, title: errorClassInfo(row.errorClass)?.title ?? "" })),
    recentFailures: overview.recentFailures.map((f) => ({ ...f, taskId: String(f.taskId), jobType: jobNames[f.kind] })),
  };
}
