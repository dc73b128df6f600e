/**
 * /admin/trainees/{slug}: one trainee as support staff need it (CONTRACT.md §8): the details TRS
 * gets, the TRN requests, the jobs in the order they must reach the API with their error class and
 * remediation, and the timeline, so that nobody needs a developer to explain a record's state.
 */
import type { Db } from "../deps.js";
import type { SyncEvent, SyncTask, Trainee, TrnRequest } from "../generated/prisma/client.js";
import { jobNames, TEACHER_RECORDS_QUEUE, taskJobId } from "../jobs/queues.js";
import { html, type Html } from "./html.js";
import { errorClassInfo, formatDay, formatTime, postButton, tag, timeCell, type Viewer } from "./layout.js";

/** The page shows at most this many timeline events (the latest). */
const timelineLimit = 500;

export interface TraineePageData {
  trainee: Trainee;
  trnRequests: TrnRequest[];
  /** in line order: (phase, id) */
  tasks: SyncTask[];
  /** oldest first */
  events: SyncEvent[];
  eventsTruncated: boolean;
}

export async function loadTraineePage(db: Db, slug: string): Promise<TraineePageData | undefined> {
  const trainee = await db.trainee.findUnique({ where: { slug } });
  if (!trainee) return undefined;
  const [trnRequests, tasks, latestEvents] = await Promise.all([
    db.trnRequest.findMany({ where: { traineeId: trainee.id }, orderBy: { createdAt: "asc" } }),
    db.syncTask.findMany({ where: { traineeId: trainee.id }, orderBy: [{ phase: "asc" }, { id: "asc" }] }),
    db.syncEvent.findMany({ where: { traineeId: trainee.id }, orderBy: { id: "desc" }, take: timelineLimit + 1 }),
  ]);
  return {
    trainee,
    trnRequests,
    tasks,
    events: latestEvents.slice(0, timelineLimit).reverse(),
    eventsTruncated: latestEvents.length > timelineLimit,
  };
}

/** TRN actions make sense only for a trainee that is (still) waiting for a TRN. */
export function awaitsTrn(trainee: Trainee): boolean {
  return !trainee.trn && (trainee.state === "submitted_for_trn" || trainee.state === "deferred");
}

const fullName = (t: Trainee) => [t.firstNames, t.middleNames, t.lastName].filter(Boolean).join(" ");
const range = (from: string, to: string) => (from || to ? `${from || "?"} to ${to || "?"}` : "");

function details(t: Trainee): Html {
  const rows: [string, unknown][] = [
    ["Slug", t.slug],
    ["Name", fullName(t)],
    ["Date of birth", formatDay(t.dateOfBirth)],
    ["TRN", t.trn ?? html`<span class="muted">none yet</span>`],
    ["State", tag(t.state)],
    ["Training route", t.trainingRoute],
    ["Provider", t.providerName ? `${t.providerName} (UKPRN ${t.providerUkprn ?? "?"})` : t.providerUkprn],
    ["ITT dates", range(formatDay(t.ittStartDate), formatDay(t.ittEndDate))],
    ["Trainee start", formatDay(t.traineeStartDate)],
    ["Study mode", t.studyMode?.replace("_", " ")],
    ["Subjects", t.courseSubjects.join(", ")],
    ["Age range", t.courseMinAge !== null || t.courseMaxAge !== null ? `${t.courseMinAge ?? "?"} to ${t.courseMaxAge ?? "?"}` : ""],
    ["Submitted for TRN", formatTime(t.submittedForTrnAt)],
    ["TRN received", formatTime(t.trnReceivedAt)],
    ["Recommended for award", formatTime(t.recommendedForAwardAt)],
    ["Outcome date", formatDay(t.outcomeDate)],
    ["Awarded", formatDay(t.awardedAt)],
    ["Withdrawn on", formatDay(t.withdrawDate)],
  ];
  // Empty fields are left out: most trainees have no award or withdrawal dates.
  const shown = rows.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return html`<dl id="details">
    ${shown.map(
      ([label, value]) =>
        html`<dt>${label}</dt>
          <dd>${value}</dd>`,
    )}
  </dl>`;
}

function trnRequestsTable(requests: TrnRequest[]): Html {
  if (!requests.length) return html`<p>No TRN requests.</p>`;
  return html`<table id="trn-requests">
    <thead>
      <tr>
        <th>Request id</th>
        <th>State</th>
        <th>Submitted</th>
        <th>Deadline</th>
        <th class="num">Polls</th>
        <th>Last polled</th>
        <th>TRN</th>
        <th>Last response</th>
      </tr>
    </thead>
    <tbody>
      ${requests.map(
        (r) =>
          html`<tr>
            <td><code>${r.requestId}</code></td>
            <td>${tag(r.state)}</td>
            ${timeCell(r.submittedAt)}${timeCell(r.deadlineAt)}
            <td class="num">${r.pollCount}</td>
            ${timeCell(r.lastPolledAt)}
            <td>${r.trn}</td>
            <td>${r.lastResponse === null ? "" : html`<pre>${JSON.stringify(r.lastResponse, null, 2)}</pre>`}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function taskError(task: SyncTask): Html {
  const info = errorClassInfo(task.errorClass);
  if (!info && !task.errorMessage) return html``;
  const codes = [task.httpStatus && `HTTP ${task.httpStatus}`, task.errorCode && `error code ${task.errorCode}`].filter(Boolean).join(", ");
  return html`${info ? html`<strong>${info.title}</strong> <span class="muted">${info.name}</span>` : ""}${codes ? html` <span class="muted">(${codes})</span>` : ""}
  ${task.errorMessage ? html`<div>${task.errorMessage}</div>` : ""}
  ${task.state === "failed" && info?.remediation ? html`<p class="remediation">${info.remediation}</p>` : ""}`;
}

function tasksTable(slug: string, tasks: SyncTask[], viewer: Viewer): Html {
  if (!tasks.length) return html`<p>No jobs.</p>`;
  const inRedis = new Set(["queued", "running", "failed"]);
  return html`<table id="tasks">
    <thead>
      <tr>
        <th>#</th>
        <th>Job type</th>
        <th>State</th>
        <th class="num">Attempts</th>
        <th>Not before</th>
        <th>Failed at</th>
        <th>Error</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      ${tasks.map((task) => {
        const jobId = taskJobId(task.kind, task.id);
        const jobLink = inRedis.has(task.state)
          ? html` <a class="muted" href="/admin/queues/queue/${TEACHER_RECORDS_QUEUE}/${jobId}">in Bull Board</a>`
          : "";
        const retry =
          task.state === "failed" && viewer.role === "support"
            ? postButton({ action: `/admin/trainees/${encodeURIComponent(slug)}/tasks/${task.id}/retry`, label: "Retry", viewer })
            : "";
        return html`<tr data-task-id="${task.id}">
          <td>${task.id}</td>
          <td>${jobNames[task.kind]}${jobLink}</td>
          <td>${tag(task.state)}</td>
          <td class="num">${task.attempts}</td>
          ${timeCell(task.state === "pending" ? task.availableAt : null)}${timeCell(task.failedAt)}
          <td>${taskError(task)}</td>
          <td>${retry}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function timelineTable(events: SyncEvent[], truncated: boolean): Html {
  if (!events.length) return html`<p>No events yet.</p>`;
  return html`${truncated ? html`<p class="muted">Showing the latest ${timelineLimit} events.</p>` : ""}
    <table id="timeline">
      <thead>
        <tr>
          <th>Time</th>
          <th>What</th>
          <th>Outcome</th>
          <th>Message</th>
          <th>Error class</th>
          <th class="num">HTTP</th>
          <th class="num">Code</th>
        </tr>
      </thead>
      <tbody>
        ${events.map(
          (e) =>
            html`<tr>
              ${timeCell(e.createdAt)}
              <td>${e.kind.replaceAll("_", " ")}${e.jobId ? html`<div class="muted">${e.jobId}</div>` : ""}</td>
              <td>${tag(e.outcome)}</td>
              <td>${e.message}</td>
              <td>${e.errorClass ? (errorClassInfo(e.errorClass)?.title ?? e.errorClass) : ""}</td>
              <td class="num">${e.httpStatus}</td>
              <td class="num">${e.errorCode}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function trnActions(data: TraineePageData, viewer: Viewer): Html {
  const { trainee } = data;
  if (viewer.role !== "support" || !awaitsTrn(trainee)) return html``;
  const base = `/admin/trainees/${encodeURIComponent(trainee.slug)}`;
  const pollable = data.trnRequests.some((r) => ["requested", "pending", "timed_out"].includes(r.state));
  return html`<div class="actions">
    ${pollable ? postButton({ action: `${base}/restart-polling`, label: "Restart TRN polling for 4 days", viewer }) : ""}
    ${postButton({ action: `${base}/resubmit-trn`, label: "Re-submit for TRN", viewer, secondary: true })}
  </div>`;
}

export function traineePage(data: TraineePageData, viewer: Viewer): Html {
  const { trainee } = data;
  return html`<p><a href="/admin">Overview</a></p>
    <h1>${fullName(trainee)} <span class="muted">${trainee.slug}</span></h1>
    ${details(trainee)}
    <h2>TRN requests</h2>
    ${trnRequestsTable(data.trnRequests)} ${trnActions(data, viewer)}
    <h2>Jobs</h2>
    <p class="muted">In the order they must reach the API: a failed job holds back the jobs after it.</p>
    ${tasksTable(trainee.slug, data.tasks, viewer)}
    <h2>Timeline</h2>
    ${timelineTable(data.events, data.eventsTruncated)}`;
}
