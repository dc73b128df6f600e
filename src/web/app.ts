/**
 * The `web` process's Express app: the upstream API, health and metrics, and the support dashboard
 * with Bull Board inside it. Security headers (helmet) go on every answer, errors and 404s
 * included, with HSTS in production; the client address is only taken from proxies TRUST_PROXY
 * names.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { context } from "@opentelemetry/api";
import { startServerSpan } from "../trace-context.js";
import type { Deps } from "../deps.js";
import { upstreamApi } from "./upstream-api.js";
import { healthRoutes } from "./health.js";
import type { Queues } from "../jobs/queues.js";
import { clientErrorStatus, dashboardRouter } from "../dashboard/router.js";
import { isDatabaseUnavailable } from "../errors.js";
import { openApiDocument } from "./openapi.js";
import { trsWebhookRoutes } from "./trs-webhook.js";
import { packageVersion } from "../project-root.js";

export function createApp(deps: Deps, queues: Queues) {
  const app = express();
  app.disable("x-powered-by");
  // a server span per request while tracing is on, continuing the caller's traceparent
  app.use((req, res, next) => {
    const span = startServerSpan(req.method, req.headers);
    res.once("finish", () => span.end(routeOf(req), res.statusCode));
    context.with(span.context, next);
  });
  app.set("trust proxy", deps.config.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          // Bull Board's client is a script of its own (served from here) that sets inline styles;
          // the dashboard's pages have no script at all
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", "data:"],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          objectSrc: ["'none'"],
          upgradeInsecureRequests: deps.config.production ? [] : null,
        },
      },
      strictTransportSecurity: deps.config.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: "same-origin" },
    }),
  );
  app.use(healthRoutes(deps, queues));
  // before any body parser, session or CSRF check: TRS signs the raw body, and has no session
  app.use(trsWebhookRoutes(deps, queues));
  // the published contract needs no token: the client is generated from it before it has one
  const openApi = JSON.stringify(openApiDocument({ version: packageVersion() }));
  app.get("/api/v1/openapi.json", (_req, res) => res.type("application/json").set("Cache-Control", "public, max-age=300").send(openApi));
  app.use("/api/v1", upstreamApi(deps, queues));
  app.use("/admin", dashboardRouter(deps, queues));
  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  // Never a stack trace to the client; the log has the detail (without personal data).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { type?: string }).type === "entity.parse.failed" ? 400 : clientErrorStatus(error);
    if (status) {
      // a client's mistake: a 4xx, and no error in the log
      deps.logger.info({ status, path: req.path, method: req.method }, "request refused");
      res.status(status).json({ errors: { body: [status === 413 ? "is too large" : status === 400 ? "is not valid" : "was refused"] } });
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

/** The route template a request matched (`/api/v1/trainees/:slug`), never its ids: span names stay few. */
function routeOf(req: Request): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  return typeof route === "string" ? `${req.baseUrl}${route}` : req.baseUrl || "(unmatched)";
}
