/**
 * The `web` process's Express app: the upstream API, health and metrics (and, later, the support
 * dashboard with Bull Board inside it).
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Deps } from "../deps.js";
import { upstreamApi } from "./upstream-api.js";
import { healthRoutes } from "./health.js";
import type { Queues } from "../jobs/queues.js";
import { dashboardRouter } from "../dashboard/router.js";
import { isDatabaseUnavailable } from "../errors.js";

export function createApp(deps: Deps, queues: Queues) {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);
  app.use(healthRoutes(deps, queues));
  app.use("/api/v1", upstreamApi(deps, queues));
  app.use("/admin", dashboardRouter(deps, queues));
  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  // Never a stack trace to the client; the log has the detail (without personal data).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status =
      (error as { status?: number; type?: string }).type === "entity.parse.failed" ? 400 : (error as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ errors: { body: [status === 413 ? "is too large" : "is not valid JSON"] } });
      return;
    }
    if (isDatabaseUnavailable(error)) {
      // Nothing was written: the upstream application should send the document again later.
      deps.logger.warn({ path: req.path, method: req.method, code: (error as { code?: unknown }).code }, "database unavailable");
      res.status(503).set("Retry-After", "30").json({ error: "the database is unavailable; nothing was stored, retry later" });
      return;
    }
    // Database messages can quote the values that failed (personal data): log the code, not the text.
    const code = (error as { code?: unknown }).code;
    const err = typeof code === "string" ? `${(error as Error).name} ${code}` : (error as Error)?.message;
    deps.logger.error({ err, path: req.path, method: req.method }, "request failed");
    res.status(500).json({ error: "internal error" });
  });
  return app;
}
