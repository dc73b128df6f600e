/**
 * Bull Board at /admin/queues (CONTRACT.md §8), behind the dashboard's sign-in.
 *
 * Two boards: viewers get one whose queue adapters are in readOnlyMode (Bull Board then hides every
 * action and answers its write routes with 405), support staff get the full one. On top of that,
 * viewers' non-GET requests are refused here with 403 before any board sees them, so a viewer
 * cannot act even if a board is misconfigured; `allowRetries` alone would only hide buttons
 * (reference/job-systems.md §2.2, §6). Support staff's write requests need the CSRF header.
 *
 * No Bull Board change goes unrecorded: every write request lands in the audit log with its route
 * and result, and the retries that matter go through trs-sync's order-aware retry instead of
 * BullMQ's, so that a retried award still waits for its failed update (a failed teacher-records
 * job retried alone, or "retry all" of the failed ones).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Db } from "../deps.js";
import { recordAudit } from "../audit.js";
import { SupportActionError } from "../errors.js";
import { jobNamesToKind, TEACHER_RECORDS_QUEUE, type Queues } from "../jobs/queues.js";
import { retryTask } from "../trainees/support-actions.js";
import { retryInBulk } from "../trainees/sync-tasks-bulk.js";
import type { Auth } from "./auth.js";

export const bullBoardBasePath = "/admin/queues";

function board(queues: Queues, readOnlyMode: boolean): express.Express {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(bullBoardBasePath);
  createBullBoard({
    queues: [queues.teacherRecords, queues.alerts].map((queue) => new BullMQAdapter(queue, { readOnlyMode })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: "trs-sync",
        miscLinks: [{ text: "Support dashboard", url: "/admin" }],
      },
    },
  });
  const app = serverAdapter.getRouter() as express.Express;
  app.disable("x-powered-by");
  return app;
}

/** Runs a sub-app the way Express's own mounting does, restoring the request prototypes when it passes on. */
function delegate(app: express.Express, req: Request, res: Response, next: NextFunction): void {
  const requestPrototype = Object.getPrototypeOf(req) as object;
  const responsePrototype = Object.getPrototypeOf(res) as object;
  app(req, res, (error?: unknown) => {
    Object.setPrototypeOf(req, requestPrototype);
    Object.setPrototypeOf(res, responsePrototype);
    next(error);
  });
}

const readMethods = new Set(["GET", "HEAD"]);

const oneRetry = new RegExp(`^/api/queues/${TEACHER_RECORDS_QUEUE}/([^/]+)/retry$`);
const allFailedRetry = new RegExp(`^/api/queues/${TEACHER_RECORDS_QUEUE}/retry/failed$`);

/** The outbox task behind a teacher-records job id (`update-trainee-42` → 42). */
function taskIdOf(jobId: string): bigint | undefined {
  const match = /^([a-z-]+)-(\d{1,18})$/.exec(jobId);
  return match && jobNamesToKind[match[1]!] ? BigInt(match[2]!) : undefined;
}

/**
 * Support staff's write requests: the retries that trs-sync orders itself are done here (and
 * answered as Bull Board expects); everything else goes on to the board, recorded once answered.
 */
function auditedWrites(db: Db, now: () => Date): RequestHandler {
  return (req, res, next) => {
    if (readMethods.has(req.method)) return next();
    const actor = res.locals.session.name as string;
    const route = `${req.method} ${req.path}`;
    const audit = (result: string, targets: string[] = []) =>
      recordAudit(db, { actor, action: `bull-board`, targets, result, details: { route } }).catch(() => {});
    const single = req.method === "PUT" ? oneRetry.exec(req.path) : null;
    const taskId = single ? taskIdOf(decodeURIComponent(single[1]!)) : undefined;
    if (taskId !== undefined) {
      retryTask({ db, taskId, now: now(), actor })
        .then(async (retried) => {
          await audit(
            `ok: retried in order ${retried.map((t) => `${t.kind} #${t.id}`).join(", then ")}`,
            retried.map((t) => `task:${t.id}`),
          );
          res.status(200).json({});
        })
        .catch(async (error: unknown) => {
          if (!(error instanceof SupportActionError)) return next(error);
          await audit(`refused: ${error.message}`, [`task:${taskId}`]);
          res.status(409).json({ error: error.message });
        });
      return;
    }
    if (req.method === "PUT" && allFailedRetry.test(req.path)) {
      db.syncTask
        .findMany({ where: { state: "failed" }, select: { id: true } })
        .then(async (failed) => {
          const done = await retryInBulk(db, { taskIds: failed.map((t) => t.id), actor, now: now() });
          const jobs = done.flatMap((p) => p.tasks);
          await audit(
            `ok: retried ${jobs.length} failed jobs for ${done.length} trainees, each after the failed jobs before it`,
            jobs.map((t) => `task:${t.id}`),
          );
          res.status(200).json({});
        })
        .catch(next);
      return;
    }
    res.on("finish", () => void audit(res.statusCode < 400 ? `ok: HTTP ${res.statusCode}` : `refused: HTTP ${res.statusCode}`));
    next();
  };
}

/** Mount under /admin/queues after auth.requireSession. */
export function bullBoardRouter(queues: Queues, auth: Pick<Auth, "requireCsrf">, options: { db: Db; now: () => Date }): Router {
  const boards = { viewer: board(queues, true), support: board(queues, false) };
  const router = express.Router();

  const viewersOnlyRead: RequestHandler = (req, res, next) => {
    if (readMethods.has(req.method) || res.locals.session.role === "support") return next();
    res.status(403).json({ error: "read-only: your account can view the queues but not change them" });
  };
  router.use(viewersOnlyRead);
  router.use((req, res, next) => (readMethods.has(req.method) ? next() : auth.requireCsrf(req, res, next)));
  router.use(auditedWrites(options.db, options.now));
  router.use((req, res, next) => delegate(res.locals.session.role === "support" ? boards.support : boards.viewer, req, res, next));
  return router;
}
