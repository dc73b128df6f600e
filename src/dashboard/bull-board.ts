/**
 * Bull Board at /admin/queues (CONTRACT.md §8), behind the dashboard's sign-in.
 *
 * Two boards: viewers get one whose queue adapters are in readOnlyMode (Bull Board then hides every
 * action and answers its write routes with 405), support staff get the full one. On top of that,
 * viewers' non-GET requests are refused here with 403 before any board sees them, so a viewer
 * cannot act even if a board is misconfigured; `allowRetries` alone would only hide buttons
 * (reference/job-systems.md §2.2, §6). Support staff's write requests need the CSRF header.
 *
 * No Bull Board change goes unrecorded: a write request must be one of Bull Board's write routes
 * (bull-board-routes.ts, or 400), is recorded in the audit log before it is acted on (or refused
 * 503 if it cannot be), and its result is recorded after. The retries that matter go through
 * trs-sync's order-aware retry instead of BullMQ's, so that a retried award still waits for its
 * failed update (a failed teacher-records job retried alone, or "retry all" of the failed ones).
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
import type { Logger } from "../logger.js";
import type { Auth } from "./auth.js";
import { matchBullBoardWrite } from "./bull-board-routes.js";

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

/** The outbox task behind a teacher-records job id (`update-trainee-42` → 42). */
function taskIdOf(jobId: string): bigint | undefined {
  const match = /^([a-z-]+)-(\d{1,18})$/.exec(jobId);
  return match && jobNamesToKind[match[1]!] ? BigInt(match[2]!) : undefined;
}

/**
 * Support staff's write requests. Each is one of Bull Board's write routes (bull-board-routes.ts)
 * or is answered 400, and each is recorded in the audit log BEFORE anything is done: if that record
 * cannot be written the answer is 503 and nothing happens, so no change is ever made unrecorded.
 * Its result is recorded once it is answered. The retries that trs-sync orders itself are done
 * here (and answered as Bull Board expects); everything else goes on to the board.
 */
function auditedWrites(db: Db, now: () => Date, logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (readMethods.has(req.method)) return next();
    const write = matchBullBoardWrite(req.method, req.path);
    if (!write) {
      res.status(400).json({ error: "not one of Bull Board's actions" });
      return;
    }
    const actor = res.locals.session.name as string;
    const { queueName, jobId } = write.params;
    const taskId = queueName === TEACHER_RECORDS_QUEUE && jobId ? taskIdOf(jobId) : undefined;
    const targets = [
      ...(queueName ? [`queue:${queueName}`] : []),
      ...(jobId ? [`job:${queueName}/${jobId}`] : []),
      ...(taskId !== undefined ? [`task:${taskId}`] : []),
    ];
    const entry = { actor, action: `bull-board:${write.action}`, details: { route: `${req.method} ${req.path}` } };
    const recordResult = (result: string, resultTargets = targets) =>
      recordAudit(db, { ...entry, targets: resultTargets, result }).catch((error: unknown) =>
        logger.error({ err: error, action: entry.action }, "audit log: the result of a Bull Board action was not recorded"),
      );
    recordAudit(db, { ...entry, targets, result: "requested" }).then(
      () => {
        if (write.action === "retry-job" && taskId !== undefined) return orderedRetry(taskId);
        if (write.action === "retry-all-jobs" && queueName === TEACHER_RECORDS_QUEUE && write.params.queueStatus === "failed") {
          return orderedRetryAll();
        }
        let recorded = false;
        const answered = (result: string) => {
          if (recorded) return;
          recorded = true;
          void recordResult(result);
        };
        res.once("finish", () =>
          answered(
            res.statusCode < 400 ? `ok: HTTP ${res.statusCode}` : `${res.statusCode < 500 ? "refused" : "failed"}: HTTP ${res.statusCode}`,
          ),
        );
        res.once("close", () => answered("failed: the connection closed before the answer"));
        next();
      },
      (error: unknown) => {
        logger.error({ err: error, action: entry.action }, "audit log unavailable: Bull Board action refused");
        res.status(503).json({ error: "The audit log cannot be written just now, so nothing was done. Try again in a minute." });
      },
    );

    function orderedRetry(id: bigint) {
      retryTask({ db, taskId: id, now: now(), actor })
        .then(async (retried) => {
          await recordResult(`ok: retried in order ${retried.map((t) => `${t.kind} #${t.id}`).join(", then ")}`, [
            ...targets,
            ...retried.filter((t) => t.id !== id).map((t) => `task:${t.id}`),
          ]);
          res.status(200).json({});
        })
        .catch(async (error: unknown) => {
          const refused = error instanceof SupportActionError;
          await recordResult(`${refused ? "refused" : "failed"}: ${(error as Error).message}`);
          if (!refused) return next(error);
          res.status(409).json({ error: error.message });
        });
    }

    function orderedRetryAll() {
      db.syncTask
        .findMany({ where: { state: "failed" }, select: { id: true } })
        .then(async (failed) => {
          // one audit record per batch, written with the batch (sync-tasks-bulk.ts)
          const done = await retryInBulk(db, { taskIds: failed.map((t) => t.id), actor, now: now(), auditAction: entry.action });
          const jobs = done.flatMap((p) => p.tasks);
          await recordResult(`ok: retried ${jobs.length} failed jobs for ${done.length} trainees, each after the failed jobs before it`);
          res.status(200).json({});
        })
        .catch(async (error: unknown) => {
          await recordResult(`failed: ${(error as Error).message}`);
          next(error);
        });
    }
  };
}

/** Mount under /admin/queues after auth.requireSession. */
export function bullBoardRouter(
  queues: Queues,
  auth: Pick<Auth, "requireCsrf">,
  options: { db: Db; now: () => Date; logger: Logger },
): Router {
  const boards = { viewer: board(queues, true), support: board(queues, false) };
  const router = express.Router();

  const viewersOnlyRead: RequestHandler = (req, res, next) => {
    if (readMethods.has(req.method) || res.locals.session.role === "support") return next();
    res.status(403).json({ error: "read-only: your account can view the queues but not change them" });
  };
  router.use(viewersOnlyRead);
  router.use((req, res, next) => (readMethods.has(req.method) ? next() : auth.requireCsrf(req, res, next)));
  router.use(auditedWrites(options.db, options.now, options.logger));
  router.use((req, res, next) => delegate(res.locals.session.role === "support" ? boards.support : boards.viewer, req, res, next));
  return router;
}
