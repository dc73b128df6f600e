/**
 * The support dashboard (CONTRACT.md §8), mounted at /admin by the web app: sign-in, the overview,
 * the trainee page with its support actions, and Bull Board. Every route but the sign-in page needs
 * a session; actions need the support role and the session's CSRF token.
 */
import { randomBytes } from "node:crypto";
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import type { Deps } from "../deps.js";
import type { Queues } from "../jobs/queues.js";
import { jobNames } from "../jobs/queues.js";
import { slugPattern } from "../trainees/document.js";
import { restartTrnPolling, resubmitForTrn, retryTask, SupportActionError } from "../trainees/support-actions.js";
import { queueControl } from "../jobs/enqueue.js";
import { createAuth } from "./auth.js";
import { bullBoardRouter } from "./bull-board.js";
import { setFlash, takeFlash } from "./flash.js";
import { formatTime, sendMessage, sendPage } from "./layout.js";
import { loadOverview, overviewPage } from "./overview-page.js";
import { awaitsTrn, loadTraineePage, traineePage } from "./trainee-page.js";

/** A route parameter as one string (Express 5 types allow arrays, for wildcards). */
const param = (req: Request, name: string): string => {
  const value = req.params[name];
  return Array.isArray(value) ? value.join("/") : (value ?? "");
};

/** "Restart TRN polling for 4 days": the playbook's "kick off another polling job with a timeout in the future". */
const restartPollingForMs = 4 * 24 * 3600_000;

export function dashboardRouter(deps: Deps, queues: Queues): Router {
  const { config, logger, prisma: db } = deps;
  let secret = config.sessionSecret;
  if (!secret) {
    // config.ts refuses a missing SESSION_SECRET in production; elsewhere sessions last as long as this process.
    secret = randomBytes(32).toString("base64url");
    logger.warn("SESSION_SECRET is not set: dashboard sessions end when this process stops");
  }
  const queue = queueControl(queues);
  const auth = createAuth({ secret, users: config.dashboardUsers, now: deps.now, logger });
  const router = express.Router();

  router.use(auth.routes);
  router.use(auth.requireSession);
  router.use("/queues", bullBoardRouter(queues, auth));

  const page = (handler: (req: Request, res: Response) => Promise<void>): RequestHandler => {
    return (req, res, next) => handler(req, res).catch(next);
  };

  router.get(
    "/",
    page(async (req, res) => {
      const overview = await loadOverview(db);
      sendPage(res, {
        title: "Overview",
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        body: overviewPage(overview),
      });
    }),
  );

  const notFound = (res: Response) =>
    sendMessage(res, {
      status: 404,
      title: "Page not found",
      text: "There is no trainee or page at this address.",
      viewer: auth.viewerOf(res),
    });

  router.param("slug", (req, res, next, slug: string) => (slugPattern.test(slug) ? next() : notFound(res)));

  router.get(
    "/trainees/:slug",
    page(async (req, res) => {
      const data = await loadTraineePage(db, param(req, "slug"));
      if (!data) return notFound(res);
      const viewer = auth.viewerOf(res);
      sendPage(res, { title: data.trainee.slug, viewer, flash: takeFlash(req, res, auth.flashKey), body: traineePage(data, viewer) });
    }),
  );

  /**
   * A support action: CSRF and role checked, the outcome logged (who, what, result) and shown as a
   * flash message back on the trainee page. The actions themselves write the timeline event.
   */
  const action = (name: string, run: (req: Request, actor: string) => Promise<string | undefined>): RequestHandler[] => [
    express.urlencoded({ extended: false, limit: "10kb" }),
    auth.requireCsrf,
    auth.requireSupport,
    async (req: Request, res: Response, next: NextFunction) => {
      const slug = param(req, "slug");
      const actor = auth.viewerOf(res).name;
      try {
        const text = await run(req, actor);
        if (text === undefined) return notFound(res);
        logger.info({ actor, action: name, slug, result: "ok" }, "support action");
        setFlash(req, res, auth.flashKey, { kind: "success", text });
      } catch (error) {
        if (!(error instanceof SupportActionError)) return next(error);
        logger.warn({ actor, action: name, slug, result: error.message }, "support action refused");
        setFlash(req, res, auth.flashKey, { kind: "error", text: error.message });
      }
      res.redirect(303, `/admin/trainees/${encodeURIComponent(slug)}`);
    },
  ];

  router.post(
    "/trainees/:slug/tasks/:taskId/retry",
    ...action("retry", async (req, actor) => {
      if (!/^\d{1,18}$/.test(param(req, "taskId"))) return undefined;
      const task = await db.syncTask.findUnique({
        where: { id: BigInt(param(req, "taskId")) },
        select: { id: true, trainee: { select: { slug: true } } },
      });
      if (!task || task.trainee.slug !== param(req, "slug")) return undefined;
      const retried = await retryTask({ db, taskId: task.id, now: deps.now(), actor });
      return `Retry requested: ${retried.map((t) => `${jobNames[t.kind]} #${t.id}`).join(", then ")} will run again.`;
    }),
  );

  /** The TRN actions, for a trainee that is waiting for a TRN only. */
  const trnAction = (name: string, run: (slug: string, actor: string) => Promise<string>) =>
    action(name, async (req, actor) => {
      const trainee = await db.trainee.findUnique({ where: { slug: param(req, "slug") } });
      if (!trainee) return undefined;
      if (!awaitsTrn(trainee)) {
        throw new SupportActionError(
          `Only for a trainee waiting for a TRN: this one is ${trainee.state.replaceAll("_", " ")}${trainee.trn ? ` with TRN ${trainee.trn}` : ""}.`,
        );
      }
      return run(trainee.slug, actor);
    });

  router.post(
    "/trainees/:slug/restart-polling",
    ...trnAction("restart-trn-polling", async (slug, actor) => {
      const result = await restartTrnPolling({ db, slug, forMs: restartPollingForMs, now: deps.now(), actor, queue });
      return `Polling for TRN request ${result.requestId} restarted until ${formatTime(result.deadlineAt)}.`;
    }),
  );

  router.post(
    "/trainees/:slug/resubmit-trn",
    ...trnAction("resubmit-for-trn", async (slug, actor) => {
      const result = await resubmitForTrn({ db, slug, now: deps.now(), trnPoll: config.trnPoll, actor, queue });
      return `Re-submitted for TRN: new request ${result.requestId}, deadline ${formatTime(result.deadlineAt)}.`;
    }),
  );

  router.use((_req, res) => notFound(res));

  // An HTML page, never a stack trace; the log has the detail (slugs and paths, no personal data).
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: (error as Error)?.message, path: req.path, method: req.method }, "dashboard request failed");
    if (res.headersSent) return;
    sendMessage(res, {
      status: 500,
      title: "Something went wrong",
      text: "The page could not be shown. Try again; if it keeps happening, tell the developers the time it happened.",
    });
  });

  return router;
}
