/**
 * /admin/dead-jobs (CONTRACT.md §8): every failed job, by job type and error class, filtered,
 * sorted and paged; its CSV; and the bulk actions (retry, cancel) for one, the selected or every
 * matching job, each shown as a plan (how many jobs and trainees, in what order, what runs next)
 * before anything happens.
 */
import express, { type Request, type Router } from "express";
import { z } from "zod";
import { jobNames } from "../jobs/queues.js";
import { SupportActionError } from "../errors.js";
import { cancelInBulk, planCancel, planRetry, retryInBulk, type TraineePlan } from "../trainees/sync-tasks-bulk.js";
import { bulkPlans, planToken, PlanRefused, samePlan, type BulkAction } from "./bulk-plans.js";
import { supportAction } from "./actions.js";
import { bigintId, choice, formBody, parseInput, repeated, text } from "./input.js";
import type { DashboardContext } from "./context.js";
import { sendFailedJobsCsv } from "./failed-jobs-csv.js";
import {
  failedJobCounts,
  failedJobIds,
  failedJobsPage,
  filterParams,
  filtersSchema,
  parseFailedJobsQuery,
  parseFilters,
  sorts,
  type Filters,
} from "./failed-jobs.js";
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

/** A bulk form: the ticked jobs, or "all" (every job matching the filters it carries as hidden fields). */
const selectionForm = z.object({
  all: choice(["1"]),
  task: repeated(bigintId, 2_000),
});

/** A confirm form: the plan's token (bulk-plans.ts), and for a cancellation the reason. */
const confirmForm = z.object({ token: planToken, reason: text(500).optional() });

/** The jobs a bulk form selected: the ticked ones, or every one matching the filters it carries. */
async function selection(ctx: DashboardContext, req: Request): Promise<{ ids: bigint[]; filters: Filters; all: boolean }> {
  const filters = parseFilters(req.body);
  const form = parseInput(req.body, selectionForm);
  if (form.all) return { ids: await failedJobIds(ctx.deps.prisma, filters), filters, all: true };
  if (!form.task.length) throw new SupportActionError("Select at least one failed job first.");
  return { ids: form.task, filters, all: false };
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
      const { filters, after } = parseFailedJobsQuery(req.query);
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

  const plans = bulkPlans({ redis: deps.redis, prefix: deps.config.redisPrefix });
  const planOf = (kind: BulkAction, ids: bigint[]) => (kind === "retry" ? planRetry(db, ids) : planCancel(db, ids));
  const plannedIds = (trainees: TraineePlan[]) => trainees.flatMap((plan) => plan.tasks.map((task) => task.id));

  // The plans: nothing changes yet, the page says what the action will do, and keeps that plan
  // (bulk-plans.ts) for its confirm button.
  const plan = (kind: BulkAction) => [
    formBody(),
    auth.requireCsrf,
    auth.requireSupport,
    async (req: Request, res: express.Response, next: express.NextFunction) => {
      try {
        const chosen = await selection(ctx, req);
        const trainees = await planOf(kind, chosen.ids);
        const taskIds = plannedIds(trainees);
        const filters = filterParams(chosen.filters);
        const token = taskIds.length
          ? await plans.save({
              person: auth.viewerOf(res).name,
              action: kind,
              taskIds,
              all: chosen.all,
              selected: chosen.all ? [] : chosen.ids,
              filters: chosen.filters,
              filterParams: filters,
            })
          : null;
        sendView(res, views, "bulk-confirm.njk", {
          title: kind === "retry" ? "Retry failed jobs" : "Cancel failed jobs",
          section: "failed",
          viewer: auth.viewerOf(res),
          kind,
          plan: planView(trainees),
          all: chosen.all,
          token,
          filters,
          back: `/admin/dead-jobs${query(filters)}`,
        });
      } catch (error) {
        if (!(error instanceof SupportActionError)) return next(error);
        sendView(res, views, "message.njk", { title: "Nothing selected", text: error.message, viewer: auth.viewerOf(res) }, 400);
      }
    },
  ];
  router.post("/dead-jobs/retry", ...plan("retry"));
  router.post("/dead-jobs/cancel", ...plan("cancel"));

  const backTo = (req: Request) => {
    const parsed = filtersSchema.safeParse(req.body ?? {});
    return `/admin/dead-jobs${query(parsed.success ? filterParams(parsed.data) : {})}`;
  };
  /**
   * The plan a confirm form carries, still exactly what its selection plans to now; it is ended
   * here, so it is carried out once. Refused otherwise, with nothing done.
   */
  const confirmedPlan = async (req: Request, actor: string, kind: BulkAction) => {
    const { token } = parseInput(req.body, confirmForm);
    const planned = await plans.find(token, { person: actor, action: kind });
    const ids = planned.all ? await failedJobIds(db, planned.filters) : planned.selected;
    const now = plannedIds(await planOf(kind, ids));
    if (!samePlan(now, planned.taskIds)) {
      await plans.end(token);
      throw new PlanRefused(
        `The failed jobs changed since the plan was shown (${planned.taskIds.length} planned, ${now.length} now). Nothing was done: review the plan again.`,
      );
    }
    if (!(await plans.end(token))) throw new PlanRefused("That plan has already been carried out. Nothing more was done.");
    return planned;
  };

  router.post(
    "/dead-jobs/retry/confirm",
    ...supportAction(ctx, {
      name: "retry-failed-jobs",
      fallback: backTo,
      run: async (req, actor) => {
        const planned = await confirmedPlan(req, actor, "retry");
        const done = await retryInBulk(db, {
          taskIds: planned.taskIds,
          actor,
          now: deps.now(),
          exact: true,
          auditAction: "retry-failed-jobs",
        });
        const jobs = done.flatMap((p) => p.tasks);
        return {
          text: `Retried ${jobs.length} job${jobs.length === 1 ? "" : "s"} for ${done.length} trainee${done.length === 1 ? "" : "s"}, each after the failed jobs before it.`,
          targets: jobs.map((t) => `task:${t.id}`),
          redirect: backTo(req),
          recorded: true,
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
        const reason = parseInput(req.body, confirmForm).reason ?? "";
        if (!reason) throw new SupportActionError("Say why the jobs are cancelled: the reason goes on each trainee's timeline.");
        const planned = await confirmedPlan(req, actor, "cancel");
        const done = await cancelInBulk(db, {
          taskIds: planned.taskIds,
          actor,
          reason,
          now: deps.now(),
          exact: true,
          auditAction: "cancel-failed-jobs",
        });
        const jobs = done.flatMap((p) => p.tasks);
        await ctx.queue.remove(jobs.map((t) => ({ kind: t.kind, id: t.id }))).catch(() => {});
        return {
          text: `Cancelled ${jobs.length} job${jobs.length === 1 ? "" : "s"} for ${done.length} trainee${done.length === 1 ? "" : "s"}: ${reason}`,
          targets: jobs.map((t) => `task:${t.id}`),
          redirect: backTo(req),
          recorded: true,
        };
      },
    }),
  );
  return router;
}
