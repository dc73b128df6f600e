/**
 * /admin: how much sync work there is, by job type and state, which error classes the failed jobs
 * have, and the latest failures with links to their trainees. Counted from the outbox
 * (sync_tasks) in Postgres, which holds every job, including the ones not in Redis right now; the
 * (state, kind) and (state, error_class) indexes answer the group-bys.
 */
import type { Db } from "../deps.js";
import { SyncTaskKind, SyncTaskState } from "../generated/prisma/enums.js";
import { jobNames } from "../jobs/queues.js";
import { html, type Html } from "./html.js";
import { errorClassInfo, timeCell } from "./layout.js";

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

const traineeLink = (slug: string) => html`<a href="/admin/trainees/${encodeURIComponent(slug)}">${slug}</a>`;

function countsTable(overview: Overview): Html {
  const total = (counts: Record<SyncTaskState, number>) => states.reduce((sum, state) => sum + counts[state], 0);
  return html`<table id="counts">
    <thead>
      <tr>
        <th>Job type</th>
        ${states.map((state) => html`<th class="num">${state}</th>`)}
        <th class="num">total</th>
      </tr>
    </thead>
    <tbody>
      ${kinds.map((kind) => {
        const counts = overview.byKind[kind];
        return html`<tr data-kind="${kind}">
          <td>${jobNames[kind]}</td>
          ${states.map((state) => html`<td class="num${counts[state] ? "" : " muted"}" data-state="${state}">${counts[state]}</td>`)}
          <td class="num" data-state="total">${total(counts)}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function failedByClassTable(overview: Overview): Html {
  if (!overview.failedByClass.length) return html`<p>No failed jobs.</p>`;
  return html`<table id="failed-by-class">
    <thead>
      <tr>
        <th>Error class</th>
        <th>Kind</th>
        <th class="num">Failed jobs</th>
      </tr>
    </thead>
    <tbody>
      ${overview.failedByClass.map((row) => {
        const info = errorClassInfo(row.errorClass);
        return html`<tr data-error-class="${row.errorClass ?? ""}">
          <td>${info ? html`${info.title} <span class="muted">${info.name}</span>` : html`<span class="muted">none recorded</span>`}</td>
          <td>${info?.kind ?? ""}</td>
          <td class="num">${row.count}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function recentFailuresTable(overview: Overview): Html {
  if (!overview.recentFailures.length) return html`<p>No failed jobs.</p>`;
  return html`<table id="recent-failures">
    <thead>
      <tr>
        <th>Trainee</th>
        <th>Job type</th>
        <th>Error class</th>
        <th class="num">Attempts</th>
        <th>Failed at</th>
      </tr>
    </thead>
    <tbody>
      ${overview.recentFailures.map(
        (row) =>
          html`<tr>
            <td>${traineeLink(row.slug)}</td>
            <td>${jobNames[row.kind]} <span class="muted">#${row.taskId}</span></td>
            <td>${errorClassInfo(row.errorClass)?.title ?? ""}</td>
            <td class="num">${row.attempts}</td>
            ${timeCell(row.failedAt)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function overviewPage(overview: Overview): Html {
  return html`<h1>Overview</h1>
    <p>
      Every job trs-sync has to send to the teacher records API, from Postgres. <a href="/admin/queues">Bull Board</a> shows the jobs that
      are in Redis right now, with their logs and errors.
    </p>
    <h2>Jobs by type and state</h2>
    ${countsTable(overview)}
    <h2>Failed jobs by error class</h2>
    ${failedByClassTable(overview)}
    <h2>Recently failed</h2>
    <p class="muted">The latest 20 failed jobs. Open the trainee to see the timeline, the remediation and to retry.</p>
    ${recentFailuresTable(overview)}`;
}
