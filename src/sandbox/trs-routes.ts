/**
 * The TRS v3 endpoints this service uses (trs-api.md §3), mounted at `/v3`. Each is gated by the
 * minor version it first appeared in, then by the API key; bodies are parsed only after both.
 */
import { Router } from "express";
import { jsonBody, trsGate, type SandboxContext } from "./context.js";
import { trsEndpointSince as since } from "./reference-data.js";
import { getPerson, setPersonDetails } from "./trs-persons.js";
import { setRouteToProfessionalStatus } from "./trs-professional-statuses.js";
import { createTrnRequest, getTrnRequest } from "./trs-trn-requests.js";

export function createTrsRouter(ctx: SandboxContext): Router {
  const router = Router();
  router.post("/trn-requests", trsGate(ctx, since.trnRequests), ...jsonBody(), createTrnRequest(ctx));
  router.get("/trn-requests", trsGate(ctx, since.trnRequests), getTrnRequest(ctx));
  router.put("/persons/:trn", trsGate(ctx, since.setPii), ...jsonBody(), setPersonDetails(ctx));
  router.get("/persons/:trn", trsGate(ctx, since.getPerson), getPerson(ctx));
  router.put(
    "/persons/:trn/routes-to-professional-statuses/:reference",
    trsGate(ctx, since.routesToProfessionalStatuses),
    ...jsonBody(),
    setRouteToProfessionalStatus(ctx),
  );
  return router;
}
