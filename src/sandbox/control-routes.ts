/**
 * Control endpoints for local use by tests and the demo (no API key; the sandbox listens on
 * 127.0.0.1 only). None of them appears in the request log.
 *
 *   GET  /__sandbox/requests                          the request log as JSON
 *   POST /__sandbox/reset                             forget all state and the log (204)
 *   POST /__sandbox/faults                            queue a fault; body = injectFault's argument (204)
 *   POST /__sandbox/trn-requests/:requestId/complete  complete a pending TRN request now (204; 404 if unknown)
 *   GET  /__sandbox/persons                           every person the sandbox holds
 */
import express, { Router } from "express";
import type { Fault } from "./faults.js";
import { sendJson, sendProblem } from "./problems.js";
import type { Sandbox } from "./server.js";

export function createControlRouter(
  sandbox: Pick<Sandbox, "requestLog" | "reset" | "injectFault" | "completeTrnRequest" | "persons">,
): Router {
  const router = Router();
  router.get("/requests", (_req, res) => sendJson(res, 200, sandbox.requestLog()));
  router.post("/reset", (_req, res) => {
    sandbox.reset();
    res.status(204).end();
  });
  router.post("/faults", express.json(), (req, res) => {
    try {
      sandbox.injectFault(req.body as Fault);
      res.status(204).end();
    } catch (error) {
      sendProblem(res, 400, { title: "Invalid fault.", status: 400, detail: error instanceof Error ? error.message : String(error) });
    }
  });
  router.post("/trn-requests/:requestId/complete", (req, res) => {
    try {
      sandbox.completeTrnRequest(req.params.requestId);
      res.status(204).end();
    } catch (error) {
      sendProblem(res, 404, {
        title: "TRN request does not exist.",
        status: 404,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  });
  router.get("/persons", (_req, res) => sendJson(res, 200, sandbox.persons()));
  router.use((_req, res) => sendProblem(res, 404, { title: "Not Found", status: 404 }));
  return router;
}
