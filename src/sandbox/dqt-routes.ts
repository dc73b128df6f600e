/**
 * The legacy DQT v2 endpoints (trs-api.md §3, removed from TRS on 2025-05-21), mounted at `/v2`.
 * No version header; the API key is checked before the body is read.
 */
import { Router } from "express";
import { dqtGate, jsonBody, type SandboxContext } from "./context.js";
import { getTeacher, setIttOutcome, updateTeacher } from "./dqt-teachers.js";
import { getDqtTrnRequest, putTrnRequest } from "./dqt-trn-requests.js";

export function createDqtRouter(ctx: SandboxContext): Router {
  const router = Router();
  const gate = dqtGate(ctx);
  router.put("/trn-requests/:requestId", gate, ...jsonBody(), putTrnRequest(ctx));
  router.get("/trn-requests/:requestId", gate, getDqtTrnRequest(ctx));
  router.patch("/teachers/update/:trn", gate, ...jsonBody(), updateTeacher(ctx));
  router.put("/teachers/:trn/itt-outcome", gate, ...jsonBody(), setIttOutcome(ctx));
  router.get("/teachers/:trn", gate, getTeacher(ctx));
  return router;
}
