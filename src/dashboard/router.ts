/**
 * The support dashboard (CONTRACT.md §8), mounted at /admin by the web app: sign-in, the overview,
 * failed jobs (with CSV and bulk actions), pending TRNs and awards, the trainee page, the audit log,
 * a search, and Bull Board. Every route but the sign-in page and the assets needs a session;
 * actions need the support role and the session's CSRF token, and are recorded in the audit log.
 */
import { randomBytes } from "node:crypto";
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from "express";
import type { Deps } from "../deps.js";
import type { Queues } from "../jobs/queues.js";
import { queueControl } from "../jobs/enqueue.js";
import { auditRoutes } from "./audit-page.js";
import { createAuth } from "./auth.js";
import { bullBoardRouter } from "./bull-board.js";
import type { DashboardContext } from "./context.js";
import { failedJobsRoutes } from "./failed-jobs-page.js";
import { failedJobCounts, parseFilters } from "./failed-jobs.js";
import { takeFlash } from "./flash.js";
import { loadAttention, loadCircuit, loadOverview, overviewView } from "./overview-page.js";
import { pendingRoutes } from "./pending-pages.js";
import { assetRoutes, createRenderer, sendView, type Renderer } from "./render.js";
import type { Viewer } from "./layout.js";
import { createSignInThrottle } from "./sign-in-throttle.js";
import { checkQueryString, InputError, optionalLine, parseInput } from "./input.js";
import { dataExceptionOf } from "../errors.js";
import { z } from "zod";
import { traineeRoutes } from "./trainee-page.js";

const searchLimit = 50;

export function dashboardRouter(deps: Deps, queues: Queues): Router {
  const { config, logger, prisma: db } = deps;
  let secret = config.sessionSecret;
  if (!secret) {
    // config.ts refuses a missing SESSION_SECRET in production; elsewhere forms last as long as this process.
    secret = randomBytes(32).toString("base64url");
    logger.warn("SESSION_SECRET is not set: dashboard forms and flash messages last as long as this process");
  }
  const views = createRenderer();
  const auth = createAuth({
    db,
    secret,
    users: config.dashboardUsers,
    now: deps.now,
    logger,
    views,
    throttle: createSignInThrottle({ redis: deps.redis, prefix: config.redisPrefix }),
    production: config.production,
  });
  const ctx: DashboardContext = { deps, queues, views, auth, queue: queueControl(queues) };
  const router = express.Router();

  router.use("/assets", assetRoutes());
  router.use(checkQueryString);
  router.use(auth.routes);
  router.use(auth.requireSession);
  router.use("/queues", bullBoardRouter(queues, auth, { db, now: deps.now, logger: deps.logger }));

  router.get("/", async (req, res, next) => {
    try {
      const [overview, attention, failed, circuit] = await Promise.all([
        loadOverview(db),
        loadAttention(db),
        failedJobCounts(db, parseFilters({})),
        loadCircuit(deps),
      ]);
      sendView(res, views, "overview.njk", {
        title: "Overview",
        section: "overview",
        viewer: auth.viewerOf(res),
        flash: takeFlash(req, res, auth.flashKey),
        view: overviewView(overview),
        attention,
        circuit,
        failedTotal: failed.total,
      });
    } catch (error) {
      next(error);
    }
  });

  router.get("/search", async (req, res, next) => {
    try {
      const q = parseInput(req.query, z.object({ q: optionalLine(100) })).q ?? "";
      const results = q
        ? await db.trainee.findMany({
            where: /^\d{7}$/.test(q)
              ? { trn: q }
              : {
                  OR: [
                    { slug: q },
                    { lastName: { contains: q, mode: "insensitive" } },
                    { firstNames: { contains: q, mode: "insensitive" } },
                  ],
                },
            orderBy: [{ lastName: "asc" }, { slug: "asc" }],
            take: searchLimit,
          })
        : [];
      if (results.length === 1) return res.redirect(303, `/admin/trainees/${encodeURIComponent(results[0]!.slug)}`);
      sendView(res, views, "search.njk", {
        title: "Find a trainee",
        viewer: auth.viewerOf(res),
        searchQuery: q,
        results,
        limit: searchLimit,
      });
    } catch (error) {
      next(error);
    }
  });

  router.use(failedJobsRoutes(ctx));
  router.use(pendingRoutes(ctx));
  router.use(traineeRoutes(ctx));
  router.use(auditRoutes(ctx));

  router.use((_req, res) =>
    sendView(
      res,
      views,
      "message.njk",
      { title: "Page not found", text: "There is no page at this address.", viewer: auth.viewerOf(res) },
      404,
    ),
  );

  router.use(dashboardErrorHandler({ logger, views, viewerOf: (res) => (res.locals.session ? auth.viewerOf(res) : undefined) }));

  return router;
}

/**
 * The dashboard's error page: HTML, never a stack trace. A client's mistake (an oversized form, a
 * malformed address, a value input.ts refused) is a 4xx and no error in the log; the log has the
 * detail of anything else (slugs and paths, no personal data).
 */
export function dashboardErrorHandler(options: {
  logger: Deps["logger"];
  views: Renderer;
  viewerOf: (res: Response) => Viewer | undefined;
}): ErrorRequestHandler {
  const { logger, views, viewerOf } = options;
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const status = clientErrorStatus(error);
    const viewer = viewerOf(res);
    if (status) {
      logger.info({ status, path: req.path, method: req.method }, "dashboard request refused");
      const text =
        error instanceof InputError ? `${error.message} Go back, check what you entered and try again.` : clientErrorText(status);
      return sendView(res, views, "message.njk", { title: "There is a problem", text, viewer, problem: true }, status);
    }
    const sqlState = dataExceptionOf(error);
    if (sqlState) {
      // Postgres refused a value as data (SQLSTATE class 22: bad encoding, out of range, not a
      // time…): input.ts should have refused it first, so this is a warning about a gap there,
      // and the client's 400, not a 500.
      logger.warn({ sqlState, path: req.path, method: req.method }, "dashboard input reached Postgres as a data exception");
      return sendView(res, views, "message.njk", { title: "There is a problem", text: clientErrorText(400), viewer, problem: true }, 400);
    }
    logger.error({ err: (error as Error)?.message, path: req.path, method: req.method }, "dashboard request failed");
    sendView(
      res,
      views,
      "message.njk",
      {
        title: "Something went wrong",
        text: "The page could not be shown. Try again; if it keeps happening, tell the developers the time it happened.",
        viewer,
      },
      500,
    );
  };
}

/** The 4xx an error stands for (body-parser's 413 and 400s, a malformed path), or undefined. */
export function clientErrorStatus(error: unknown): number | undefined {
  const status =
    (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return status;
  if (error instanceof URIError) return 400;
  return undefined;
}

function clientErrorText(status: number): string {
  if (status === 413) return "What was sent is too large. Select fewer jobs, or use the actions for every matching job.";
  if (status === 404) return "There is no page at this address.";
  return "The request could not be understood. Go back, reload the page and try again.";
}
