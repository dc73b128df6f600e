/**
 * /admin/dead-jobs (CONTRACT.md §8): every failed job, by job type and error class, filtered,
 * sorted and paged; its CSV; and the bulk actions (retry, cancel) for one, the selected or every
 * matching job, each shown as a plan (how many jobs and trainees, in what order, what runs next)
 * before anything happens.
 */
import express, { type Request, type Router } from "express";
import { jobNames } from "../jobs/queues.js";
import { SupportActionError } from "../errors.js";
import { cancelInBulk, planCancel, planRetry, retryInBulk, type TraineePlan } from "../trainees/sync-tasks-bulk.js";
import { field, fields, supportAction } from "./actions.js";
import type { DashboardContext } from "./context.js";
import { sendFailedJobsCsv } from "./failed-jobs-csv.js";
import { failedJobCounts, failedJobIds, failedJobsPage, filterParams, parseFilters, sorts, type Filters } from "./failed-jobs.js";
import { takeFlash } from "./flash.js";
import { errorClassInfo } from "./layout.js";
import { daysSince, sendView } from "./render.js";
import { errorClasses } from "../jobs/classify.js";

const pageSize = 50;
/** Plans show this many trainees; the rest are counted. */
const planShown = 100;

const query = (params: Record<string, string>) => {
  const text = new URLSearchParams(params).toString();
  return text ? `?${text}` : "";
};

/** The jobs a bulk form selected: the ticked ones, or every one matching the filters it carries. */
async function selection(ctx: DashboardContext, req: Request): Promise<{ ids: bigint[]; filters: Filters; all: boolean }> {
  const filters = parseFilters(req.body);
  if (field(req, "all") === "1") return { ids: await failedJobIds(ctx.deps.prisma, filters), filters, all: true };
  const ids = fields(req, "task")
    .filter((id) => /^\d{1,18}$/.test(id))
    .map(BigInt);
  if (!ids.length) throw new SupportActionError("Select at least one failed job first.");
  return { ids, filters, all: false };
}

function planView(plans: TraineePlan[]) {
  return {
    jobs: plans.reduce((sum, plan) => sum + plan.tasks.length, 0),
    trainees: plans.length,
    shown: plans.slice(0, planShown).map((plan) => ({
      slug: plan.slug,
      order: plan.tasks.map((task) => `${jobNames[task.kind]} #${task.id}`).join(", then "),
      next: plan.next
        ? `${jobNames[plan.next.kind]} #${plan.next.id}${plan.next.errorClass ? ` (failed: ${plan.next.errorClass})` : ""}`
        : "nothing",
    })),
    more: Math.max(0, plans.length - planShown),
  };
}

export function failedJobsRoutes(ctx: DashboardContext): Router {
  const { deps, views, auth } = ctx;
  const db = deps.prisma;
  const router = express.Router();

  router.get("/dead-jobs", async (req, res, next) => {
    try {
      const filters = parseFilters(req.query);
      const after = typeof req.query.after === "string" ? req.query.after : undefined;
      const [counts, page] = await Promise.all([failedJobCounts(db, filters), failedJobsPage(db, { filters, after, limit: pageSize })]);
      const now = deps.now();
      const params = filterParams(filters);
      sendView(res, views, "failed-jobs.njk", {
        title: "Failed jobs",
        section: "failed",
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        filters,
        params,
        counts,
        jobTypes: Object.values(jobNames),
        errorClasses: errorClasses.map((c) => ({ name: c.name, title: c.title })),
        sorts: Object.entries(sorts).map(([key, sort]) => ({ key, label: sort.label })),
        classTitle: (name: string | null) => errorClassInfo(name)?.title ?? "(none)",
        link: (extra: Record<string, string | undefined>) => {
          const merged: Record<string, string> = { ...params };
          for (const [key, value] of Object.entries(extra)) {
            if (value === undefined) delete merged[key];
            else merged[key] = value;
          }
          return `/admin/dead-jobs${query(merged)}`;
        },
        csvLink: `/admin/dead-jobs.csv${query(params)}`,
        nextLink: page.next ? `/admin/dead-jobs${query({ ...params, after: page.next })}` : null,
        firstLink: after ? `/admin/dead-jobs${query(params)}` : null,
        returnTo: req.originalUrl,
        rows: page.rows.map((row) => {
          const info = errorClassInfo(row.errorClass);
          return {
            ...row,
            taskId: String(row.taskId),
            jobType: jobNames[row.kind],
            name: `${row.firstNames} ${row.lastName}`,
            classTitle: info?.title ?? "",
            remediation: info?.remediation ?? "",
            daysWaiting: daysSince(row.failedAt, now),
          };
        }),
      });
    } catch (error) {
      next(error);
    }
  });

  router.get("/dead-jobs.csv", async (req, res, next) => {
    try {
      const filters = parseFilters(req.query);
      await sendFailedJobsCsv(res, { db, filters, publicBaseUrl: deps.config.publicBaseUrl, now: deps.now() });
    } catch (error) {
      if (res.headersSent) res.destroy(error as Error);
      else next(error);
    }
  });

  // The plans: nothing changes yet, the page says what the action will do.
  const plan = (kind: "retry" | "cancel") => [
    express.urlencoded({ extended: false, limit: "50kb", parameterLimit: 2_000 }),
    auth.requireCsrf,
    auth.requireSupport,
    async (req: Request, res: express.Response, next: express.NextFunction) => {
      try {
        const chosen = await selection(ctx, req);
        const plans = kind === "retry" ? await planRetry(db, chosen.ids) : await planCancel(db, chosen.ids);
        sendView(res, views, "bulk-confirm.njk", {
          title: kind === "retry" ? "Retry failed jobs" : "Cancel failed jobs",
          section: "failed",
          viewer: auth.viewerOf(res),
          kind,
          plan: planView(plans),
          all: chosen.all,
          selected: chosen.ids.map(String),
          filters: filterParams(chosen.filters),
          back: `/admin/dead-jobs${query(filterParams(chosen.filters))}`,
        });
      } catch (error) {
        if (!(error instanceof SupportActionError)) return next(error);
        sendView(res, views, "message.njk", { title: "Nothing selected", text: error.message, viewer: auth.viewerOf(res) }, 400);
      }
    },
  ];
  router.post("/dead-jobs/retry", ...plan("retry"));
  router.post("/dead-jobs/cancel", ...plan("cancel"));

  const backTo = (req: Request) => `/admin/dead-jobs${query(filterParams(parseFilters(req.body)))}`;
  router.post(
    "/dead-jobs/retry/confirm",
    ...supportAction(ctx, {
      name: "retry-failed-jobs",
      fallback: backTo,
      run: async (req, actor) => {
        const chosen = await selection(ctx, req);
        const done = await retryInBulk(db, { taskIds: chosen.ids, actor, now: deps.now() });
        const jobs = done.flatMap((p) => p.tasks);
        if (!jobs.length) throw new SupportActionError("None of those jobs is failed any more: nothing retried.");
        return {
          text: `Retried ${jobs.length} job${jobs.length === 1 ? "" : "s"} for ${done.length} trainee${done.length === 1 ? "" : "s"}, each after the failed jobs before it.`,
          targets: jobs.map((t) => `task:${t.id}`),
          redirect: backTo(req),
        };
      },
    }),
  );
  router.post(
    "/dead-jobs/cancel/confirm",
    ...supportAction(ctx, {
      name: "cancel-failed-jobs",
      fallback: backTo,
      run: async (req, actor) => {
        const reason = (field(req, "reason") ?? "").trim();
        if (!reason) throw new SupportActionError("Say why the jobs are cancelled: the reason goes on each trainee's timeline.");
        const chosen = await selection(ctx, req);
        const done = await cancelInBulk(db, { taskIds: chosen.ids, actor, reason: reason.slice(0, 500), now: deps.now() });
        const jobs = done.flatMap((p) => p.tasks);
        if (!jobs.length) throw new SupportActionError("None of those jobs is failed any more: nothing cancelled.");
        await ctx.queue.remove(jobs.map((t) => ({ kind: t.kind, id: t.id }))).catch(() => {});
        return {
          text: `Cancelled ${jobs.length} job${jobs.length === 1 ? "" : "s"} for ${done.length} trainee${done.length === 1 ? "" : "s"}: ${reason}`,
          targets: jobs.map((t) => `task:${t.id}`),
          redirect: backTo(req),
        };
      },
    }),
  );
  return router;
}
