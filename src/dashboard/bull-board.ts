/**
 * Bull Board at /admin/queues (CONTRACT.md §8), behind the dashboard's sign-in.
 *
 * Two boards: viewers get one whose queue adapters are in readOnlyMode (Bull Board then hides every
 * action and answers its write routes with 405), support staff get the full one. On top of that,
 * viewers' non-GET requests are refused here with 403 before any board sees them, so a viewer
 * cannot act even if a board is misconfigured; `allowRetries` alone would only hide buttons
 * (reference/job-systems.md §2.2, §6). Support staff's write requests need the CSRF header.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queues } from "../jobs/queues.js";
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

/** Mount under /admin/queues after auth.requireSession. */
export function bullBoardRouter(queues: Queues, auth: Pick<Auth, "requireCsrf">): Router {
  const boards = { viewer: board(queues, true), support: board(queues, false) };
  const router = express.Router();

  const viewersOnlyRead: RequestHandler = (req, res, next) => {
    if (readMethods.has(req.method) || res.locals.session.role === "support") return next();
    res.status(403).json({ error: "read-only: your account can view the queues but not change them" });
  };
  router.use(viewersOnlyRead);
  router.use((req, res, next) => (readMethods.has(req.method) ? next() : auth.requireCsrf(req, res, next)));
  router.use((req, res, next) => delegate(res.locals.session.role === "support" ? boards.support : boards.viewer, req, res, next));
  return router;
}
