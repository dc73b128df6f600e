/**
 * Control endpoints for local use by tests and the demo (no API key; the sandbox listens on
 * 127.0.0.1 only). None of them appears in the request log.
 *
 *   GET  /__sandbox/requests                          the request log as JSON
 *   POST /__sandbox/reset                             forget all state and the log (204)
 *   POST /__sandbox/faults                            queue a fault; body = injectFault's argument (204)
 *   POST /__sandbox/trn-requests/:requestId/complete  complete a pending TRN request now (204; 404 if unknown)
 *   GET  /__sandbox/persons                           every person the sandbox holds
 *   POST /__sandbox/persons                           a person TRS holds already (a record from before a
 *                                                     cutover); body {trn?, firstName, middleName, lastName,
 *                                                     dateOfBirth, emailAddress, nationalInsuranceNumber,
 *                                                     gender, allowPiiUpdates?}; answers the person (201)
 *   POST /__sandbox/trn-requests                      a TRN request TRS holds already, pending until
 *                                                     completed; body {requestId, person: {…as above}} (204)
 */
import express, { Router, type Response } from "express";
import { z } from "zod";
import type { Fault } from "./faults.js";
import { sendJson, sendProblem } from "./problems.js";
import type { Sandbox } from "./server.js";

const personDetails = z.object({
  firstName: z.string().min(1),
  middleName: z.string().nullable().default(null),
  lastName: z.string().min(1),
  dateOfBirth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  emailAddress: z.string().nullable().default(null),
  nationalInsuranceNumber: z.string().nullable().default(null),
  gender: z.enum(["Male", "Female", "Other"]).nullable().default(null),
});
const seedPersonSchema = personDetails.extend({
  trn: z
    .string()
    .regex(/^\d{7}$/)
    .optional(),
  allowPiiUpdates: z.boolean().optional(),
  slugId: z.string().nullish(),
});

export function createControlRouter(
  sandbox: Pick<Sandbox, "requestLog" | "reset" | "injectFault" | "completeTrnRequest" | "persons" | "seedPerson" | "seedTrnRequest">,
): Router {
  const router = Router();
  const invalid = (res: Response, error: z.ZodError) =>
    sendProblem(res, 400, {
      title: "Invalid seed.",
      status: 400,
      detail: error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    });
  router.post("/persons", express.json(), (req, res) => {
    const seed = seedPersonSchema.safeParse(req.body);
    if (!seed.success) return invalid(res, seed.error);
    sendJson(res, 201, sandbox.seedPerson(seed.data));
  });
  router.post("/trn-requests", express.json(), (req, res) => {
    const seed = z.object({ requestId: z.string().min(1), person: personDetails, slugId: z.string().nullish() }).safeParse(req.body);
    if (!seed.success) return invalid(res, seed.error);
    sandbox.seedTrnRequest(seed.data);
    res.status(204).end();
  });
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
