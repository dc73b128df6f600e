/**
 * /admin/trainees/{slug}: one trainee as support staff need it (CONTRACT.md §8): the details TRS
 * gets, the TRN requests, the jobs in the order they must reach the API with their error class,
 * remediation and actions, and the timeline, so that nobody needs a developer to explain a
 * record's state. "Check the record at TRS" shows the record TRS holds beside ours (the playbook's
 * "retrieve the teacher" recipe).
 */
import express, { type Request, type Router } from "express";
import { z } from "zod";
import type { Db } from "../deps.js";
import type { SyncTask, Trainee } from "../generated/prisma/client.js";
import { SupportActionError } from "../errors.js";
import { recordAudit } from "../audit.js";
import { isApiError } from "../clients/api-error.js";
import { classify } from "../jobs/classify.js";
import { jobNames, taskJobId } from "../jobs/queues.js";
import { slugPattern } from "../trainees/document.js";
import { cancelTask, checkTrnNow, restartTrnPolling, resubmitForTrn, retryTask } from "../trainees/support-actions.js";
import { param, supportAction } from "./actions.js";
import { parseInput, text } from "./input.js";
import type { DashboardContext } from "./context.js";
import { takeFlash } from "./flash.js";
import { errorClassInfo } from "./layout.js";
import { formatTime, sendView } from "./render.js";
import { compareWithRecord } from "../trainees/record-comparison.js";

/** The page shows at most this many timeline events (the latest). */
const timelineLimit = 500;
/** "Restart TRN polling for 4 days": the playbook's "kick off another polling job with a timeout in the future". */
const restartPollingForMs = 4 * 24 * 3600_000;

/** TRN actions make sense only for a trainee that is (still) waiting for a TRN. */
export function awaitsTrn(trainee: Trainee): boolean {
  return !trainee.trn && (trainee.state === "submitted_for_trn" || trainee.state === "deferred");
}

const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : "");

function detailRows(t: Trainee): { key: string; value: string }[] {
  const rows: [string, string | null | undefined][] = [
    ["Slug", t.slug],
    ["Name", [t.firstNames, t.middleNames, t.lastName].filter(Boolean).join(" ")],
    ["Date of birth", day(t.dateOfBirth)],
    ["TRN", t.trn ?? "none yet"],
    ["State", t.state.replaceAll("_", " ")],
    ["Sex", t.sex?.replaceAll("_", " ")],
    ["Email", t.email],
    ["National Insurance number", t.nationalInsuranceNumber],
    ["Training route", t.trainingRoute],
    ["Training country", t.trainingCountry],
    ["Provider", t.providerName ? `${t.providerName} (UKPRN ${t.providerUkprn ?? "?"})` : t.providerUkprn],
    ["ITT dates", t.ittStartDate || t.ittEndDate ? `${day(t.ittStartDate) || "?"} to ${day(t.ittEndDate) || "?"}` : ""],
    ["Trainee start", day(t.traineeStartDate)],
    ["Study mode", t.studyMode?.replace("_", " ")],
    ["ITT qualification aim", t.ittQualificationAim],
    ["Subjects", t.courseSubjects.join(", ")],
    ["Age range", t.courseMinAge !== null || t.courseMaxAge !== null ? `${t.courseMinAge ?? "?"} to ${t.courseMaxAge ?? "?"}` : ""],
    ["Submitted for TRN", t.submittedForTrnAt ? formatTime(t.submittedForTrnAt) : ""],
    ["TRN received", t.trnReceivedAt ? formatTime(t.trnReceivedAt) : ""],
    ["Recommended for award", t.recommendedForAwardAt ? formatTime(t.recommendedForAwardAt) : ""],
    ["Outcome date", day(t.outcomeDate)],
    ["Awarded", day(t.awardedAt)],
    ["Withdrawn on", day(t.withdrawDate)],
    ["Discarded", t.discardedAt ? formatTime(t.discardedAt) : ""],
  ];
  // Empty fields are left out: most trainees have no award or withdrawal dates.
  return rows.filter(([, value]) => value).map(([key, value]) => ({ key, value: value! }));
}

async function loadTrainee(db: Db, slug: string) {
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

function taskRow(task: SyncTask) {
  const info = errorClassInfo(task.errorClass);
  return {
    id: String(task.id),
    jobType: jobNames[task.kind],
    jobId: taskJobId(task.kind, task.id),
    state: task.state,
    attempts: task.attempts,
    availableAt: task.availableAt,
    failedAt: task.failedAt,
    errorClass: task.errorClass,
    errorTitle: info?.title,
    remediation: task.state === "failed" ? info?.remediation : undefined,
    httpStatus: task.httpStatus,
    errorCode: task.errorCode,
    errorMessage: task.errorMessage,
  };
}

export function traineeRoutes(ctx: DashboardContext): Router {
  const { deps, views, auth } = ctx;
  const db = deps.prisma;
  const router = express.Router();
  const notFound = (res: express.Response) =>
    sendView(
      res,
      views,
      "message.njk",
      { title: "Page not found", text: "There is no trainee or page at this address.", viewer: auth.viewerOf(res) },
      404,
    );

  router.param("slug", (req, res, next, slug: string) => (slugPattern.test(slug) ? next() : notFound(res)));
  router.param("taskId", (req, res, next, id: string) => (/^\d{1,18}$/.test(id) ? next() : notFound(res)));

  router.get("/trainees/:slug", async (req, res, next) => {
    try {
      const data = await loadTrainee(db, param(req, "slug"));
      if (!data) return notFound(res);
      const { trainee } = data;
      sendView(res, views, "trainee.njk", {
        title: trainee.slug,
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        trainee,
        details: detailRows(trainee),
        awaitsTrn: awaitsTrn(trainee),
        canCheckNow: data.trnRequests.some((r) => r.activeTraineeId && ["pending", "requested"].includes(r.state)),
        trnRequests: data.trnRequests.map((r) => ({
          ...r,
          lastResponse: r.lastResponse === null ? null : JSON.stringify(r.lastResponse, null, 2),
        })),
        tasks: data.tasks.map(taskRow),
        events: data.events,
        eventsTruncated: data.eventsTruncated,
        returnTo: `/admin/trainees/${trainee.slug}`,
      });
    } catch (error) {
      next(error);
    }
  });

  router.get("/trainees/:slug/check-record", async (req, res, next) => {
    try {
      const trainee = await db.trainee.findUnique({ where: { slug: param(req, "slug") } });
      if (!trainee) return notFound(res);
      const viewer = auth.viewerOf(res);
      const context = { title: `${trainee.slug} at TRS`, viewer, trainee, api: deps.api.kind };
      if (!trainee.trn) {
        return sendView(res, views, "check-record.njk", { ...context, problem: "The trainee has no TRN yet: TRS has no record to show." });
      }
      let record: unknown;
      try {
        record = await deps.api.getPerson(trainee.trn, { routes: true });
      } catch (error) {
        const classified = classify(error);
        await recordAudit(db, {
          actor: viewer.name,
          action: "check-record",
          targets: [`trainee:${trainee.slug}`],
          result: `failed: ${classified.errorClass.name}`,
        });
        const status = isApiError(error)
          ? ` (HTTP ${error.status || "no answer"}${error.errorCode ? `, error code ${error.errorCode}` : ""})`
          : "";
        return sendView(res, views, "check-record.njk", {
          ...context,
          problem: `${classified.errorClass.title}${status}. ${classified.errorClass.remediation}`,
        });
      }
      const comparison = compareWithRecord(trainee, record, deps.api.kind);
      await recordAudit(db, {
        actor: viewer.name,
        action: "check-record",
        targets: [`trainee:${trainee.slug}`],
        result: `ok: ${comparison.differences} difference${comparison.differences === 1 ? "" : "s"}`,
      });
      sendView(res, views, "check-record.njk", { ...context, comparison });
    } catch (error) {
      next(error);
    }
  });

  const fallback = (req: Request) => `/admin/trainees/${encodeURIComponent(param(req, "slug"))}`;
  /** A task of this trainee, from the path; a SupportActionError otherwise. */
  const taskOf = async (req: Request) => {
    const id = param(req, "taskId");
    const task = /^\d{1,18}$/.test(id)
      ? await db.syncTask.findUnique({ where: { id: BigInt(id) }, select: { id: true, trainee: { select: { slug: true } } } })
      : null;
    if (!task || task.trainee.slug !== param(req, "slug")) throw new SupportActionError("There is no such job for this trainee.");
    return task.id;
  };
  const targets = (req: Request) => [`trainee:${param(req, "slug")}`, ...(param(req, "taskId") ? [`task:${param(req, "taskId")}`] : [])];

  router.post(
    "/trainees/:slug/tasks/:taskId/retry",
    ...supportAction(ctx, {
      name: "retry",
      fallback,
      targets,
      run: async (req, actor) => {
        const retried = await retryTask({ db, taskId: await taskOf(req), now: deps.now(), actor });
        return {
          text: `Retry requested: ${retried.map((t) => `${jobNames[t.kind]} #${t.id}`).join(", then ")} will run again.`,
          targets: [`trainee:${param(req, "slug")}`, ...retried.map((t) => `task:${t.id}`)],
        };
      },
    }),
  );
  router.post(
    "/trainees/:slug/tasks/:taskId/cancel",
    ...supportAction(ctx, {
      name: "cancel",
      fallback,
      targets,
      run: async (req, actor) => {
        const { reason = "" } = parseInput(req.body, z.object({ reason: text(500).optional() }));
        const { cancelled, next } = await cancelTask({ db, taskId: await taskOf(req), reason, now: deps.now(), actor, queue: ctx.queue });
        return {
          text: `Cancelled ${jobNames[cancelled.kind]} #${cancelled.id}${next ? `; next: ${jobNames[next.kind]} #${next.id}` : "; nothing waits behind it"}.`,
          targets: targets(req),
        };
      },
    }),
  );

  /** The TRN actions, for a trainee that is waiting for a TRN only. */
  const trnAction = (name: string, run: (slug: string, actor: string) => Promise<string>) =>
    supportAction(ctx, {
      name,
      fallback,
      targets,
      run: async (req, actor) => {
        const trainee = await db.trainee.findUnique({ where: { slug: param(req, "slug") } });
        if (!trainee) throw new SupportActionError("There is no such trainee.");
        if (!awaitsTrn(trainee)) {
          throw new SupportActionError(
            `Only for a trainee waiting for a TRN: this one is ${trainee.state.replaceAll("_", " ")}${trainee.trn ? ` with TRN ${trainee.trn}` : ""}.`,
          );
        }
        return { text: await run(trainee.slug, actor), targets: targets(req) };
      },
    });

  router.post(
    "/trainees/:slug/restart-polling",
    ...trnAction("restart-trn-polling", async (slug, actor) => {
      const result = await restartTrnPolling({ db, slug, forMs: restartPollingForMs, now: deps.now(), actor, queue: ctx.queue });
      return `Polling for TRN request ${result.requestId} restarted until ${formatTime(result.deadlineAt)}.`;
    }),
  );
  router.post(
    "/trainees/:slug/resubmit-trn",
    ...trnAction("resubmit-for-trn", async (slug, actor) => {
      const result = await resubmitForTrn({ db, slug, now: deps.now(), trnPoll: deps.config.trnPoll, actor, queue: ctx.queue });
      return `Re-submitted for TRN: new request ${result.requestId}, deadline ${formatTime(result.deadlineAt)}.`;
    }),
  );
  router.post(
    "/trainees/:slug/check-trn-now",
    ...trnAction("check-trn-now", async (slug, actor) => {
      const result = await checkTrnNow({ db, slug, now: deps.now(), actor, queue: ctx.queue });
      return `Asking TRS about request ${result.requestId} now.`;
    }),
  );
  return router;
}
