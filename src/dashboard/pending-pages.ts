/**
 * /admin/pending-trns and /admin/pending-awards (CONTRACT.md §8): the trainees waiting for
 * something, oldest first, with what support can do about them. Pending TRNs: check now,
 * re-submit, extend the deadline, for one or the selected trainees. Pending awards: what holds
 * each award back and when it runs next.
 */
import express, { type Request, type Router } from "express";
import type { Job } from "bullmq";
import { z } from "zod";
import { SupportActionError } from "../errors.js";
import { jobNames, taskJobId } from "../jobs/queues.js";
import { checkTrnNow, restartTrnPolling, resubmitForTrn } from "../trainees/support-actions.js";
import { blockingStates } from "../trainees/sync-tasks.js";
import { supportAction } from "./actions.js";
import { line, parseInput, repeated, slug } from "./input.js";
import { parsePendingTrnsQuery, pendingTrnsPage } from "./pending-trns.js";
import type { DashboardContext } from "./context.js";
import { takeFlash } from "./flash.js";
import { errorClassInfo } from "./layout.js";
import { daysSince, formatTime, sendView } from "./render.js";

const pageSize = 200;

/** The pending-TRN forms: the ticked trainees (or the row's own button), and the days to extend by. */
const pendingTrnsForm = z.object({
  only: slug.optional(),
  slug: repeated(slug, pageSize),
  days: line(10).optional(),
});

export function pendingRoutes(ctx: DashboardContext): Router {
  const { deps, views, auth } = ctx;
  const db = deps.prisma;
  const router = express.Router();

  router.get("/pending-trns", async (req, res, next) => {
    try {
      const now = deps.now();
      const page = await pendingTrnsPage(db, { ...parsePendingTrnsQuery(req.query), limit: pageSize });
      const rows = page.rows.map((request) => ({
        slug: request.slug,
        name: `${request.firstNames} ${request.lastName}`,
        state: request.traineeState,
        submittedAt: request.submittedAt,
        daysWaiting: daysSince(request.submittedAt, now),
        requestId: request.requestId,
        requestState: request.state,
        polls: request.pollCount,
        lastPolledAt: request.lastPolledAt,
        nextPollAt: request.nextPollAt,
        deadlineAt: request.deadlineAt,
        timedOut: request.state === "timed_out",
      }));
      sendView(res, views, "pending-trns.njk", {
        title: "Pending TRNs",
        section: "pending-trns",
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        rows,
        limit: pageSize,
        nextLink: page.next ? `/admin/pending-trns?after=${page.next}` : null,
        previousLink: page.previous ? `/admin/pending-trns?before=${page.previous}` : null,
        returnTo: req.originalUrl,
      });
    } catch (error) {
      next(error);
    }
  });

  /** The slugs a pending-TRN form acts on: the ticked ones, or the one of the row's own button. */
  const slugs = (req: Request) => {
    const form = parseInput(req.body, pendingTrnsForm);
    return [...new Set(form.only ? [form.only] : form.slug)];
  };
  /** Runs `one` for each slug; refusals are collected so one trainee does not stop the others. */
  const forEach = async (req: Request, what: string, one: (slug: string) => Promise<string>) => {
    const chosen = slugs(req);
    if (!chosen.length) throw new SupportActionError("Select at least one trainee first.");
    const done: string[] = [];
    const refused: string[] = [];
    for (const slug of chosen) {
      try {
        done.push(await one(slug));
      } catch (error) {
        if (!(error instanceof SupportActionError)) throw error;
        refused.push(error.message);
      }
    }
    if (!done.length) throw new SupportActionError(refused.join(" "));
    const text = `${what} for ${done.length} trainee${done.length === 1 ? "" : "s"}: ${done.join("; ")}${refused.length ? `. Not done: ${refused.join(" ")}` : ""}`;
    return { text, targets: chosen.map((slug) => `trainee:${slug}`) };
  };
  const common = { fallback: () => "/admin/pending-trns", targets: (req: Request) => slugs(req).map((slug) => `trainee:${slug}`) };

  router.post(
    "/pending-trns/check-now",
    ...supportAction(ctx, {
      name: "check-trn-now",
      ...common,
      run: (req, actor) =>
        forEach(req, "Checking with TRS now", async (slug) => {
          const result = await checkTrnNow({ db, slug, now: deps.now(), actor, queue: ctx.queue });
          return `${slug} (request ${result.requestId})`;
        }),
    }),
  );
  router.post(
    "/pending-trns/resubmit",
    ...supportAction(ctx, {
      name: "resubmit-for-trn",
      ...common,
      run: (req, actor) =>
        forEach(req, "Re-submitted for TRN", async (slug) => {
          const result = await resubmitForTrn({ db, slug, now: deps.now(), trnPoll: deps.config.trnPoll, actor, queue: ctx.queue });
          return `${slug} (new request ${result.requestId})`;
        }),
    }),
  );
  router.post(
    "/pending-trns/extend",
    ...supportAction(ctx, {
      name: "extend-trn-deadline",
      ...common,
      run: (req, actor) => {
        const days = Number(parseInput(req.body, pendingTrnsForm).days);
        if (!Number.isInteger(days) || days < 1 || days > 30)
          throw new SupportActionError("Extend by a whole number of days, from 1 to 30.");
        return forEach(req, `Deadline extended by ${days} day${days === 1 ? "" : "s"}`, async (slug) => {
          const result = await restartTrnPolling({ db, slug, forMs: days * 86_400_000, now: deps.now(), actor, queue: ctx.queue });
          return `${slug} (until ${formatTime(result.deadlineAt)})`;
        });
      },
    }),
  );

  router.get("/pending-awards", async (req, res, next) => {
    try {
      const now = deps.now();
      const trainees = await db.trainee.findMany({
        where: { state: "recommended_for_award" },
        orderBy: [{ recommendedForAwardAt: { sort: "asc", nulls: "last" } }, { id: "asc" }],
        take: pageSize,
        include: { syncTasks: { where: { state: { in: [...blockingStates] } }, orderBy: [{ phase: "asc" }, { id: "asc" }], take: 1 } },
      });
      const heads = trainees.map((t) => t.syncTasks[0]);
      const jobs = await Promise.all(
        heads.map((task) =>
          task && task.state === "queued" ? ctx.queues.teacherRecords.getJob(taskJobId(task.kind, task.id)) : undefined,
        ),
      );
      const rows = trainees.map((trainee, index) => {
        const head = heads[index];
        return {
          slug: trainee.slug,
          name: `${trainee.firstNames} ${trainee.lastName}`,
          trn: trainee.trn,
          recommendedAt: trainee.recommendedForAwardAt,
          outcomeDate: trainee.outcomeDate,
          daysWaiting: daysSince(trainee.recommendedForAwardAt, now),
          ...heldBack(head, jobs[index], now),
        };
      });
      sendView(res, views, "pending-awards.njk", {
        title: "Pending awards",
        section: "pending-awards",
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        rows,
        limit: pageSize,
      });
    } catch (error) {
      next(error);
    }
  });

  return router;
}

type Head = { kind: keyof typeof jobNames; id: bigint; state: string; errorClass: string | null; availableAt: Date } | undefined;

/** What holds an award back, in a support person's words, and when the next step runs. */
function heldBack(head: Head, job: Job | undefined | null, now: Date): { holdsBack: string; runsNext: string; failed: boolean } {
  if (!head) return { holdsBack: "nothing: the award is being recorded", runsNext: "now", failed: false };
  const what = head.kind === "award_trainee" ? "the award" : `${jobNames[head.kind]} #${head.id}, before the award`;
  const title = errorClassInfo(head.errorClass)?.title;
  const delayedUntil = job && job.delay > 0 ? new Date(job.timestamp + job.delay) : null;
  const runsAt =
    delayedUntil && delayedUntil > now ? formatTime(delayedUntil) : head.availableAt > now ? formatTime(head.availableAt) : "now";
  if (head.state === "failed")
    return { holdsBack: `${what} failed: ${title ?? head.errorClass}`, runsNext: "when support retries it", failed: true };
  if (head.state === "running") return { holdsBack: `${what} is being sent`, runsNext: "now", failed: false };
  if (head.errorClass === "rate_limited") return { holdsBack: `${what} waits for the rate limit`, runsNext: runsAt, failed: false };
  if (head.errorClass) return { holdsBack: `${what} is retrying after ${title ?? head.errorClass}`, runsNext: runsAt, failed: false };
  return { holdsBack: `${what} is queued`, runsNext: runsAt, failed: false };
}
