/**
 * What every sandbox endpoint shares: the store, the settings, the clock, and the checks that come
 * before any endpoint logic (API version, API key, JSON body, the markers that answer any call).
 */
import express, { type Request, type RequestHandler, type Response } from "express";
import type { Marker } from "./markers.js";
import { sendEmpty, sendUnsupportedMediaType, sendValidationProblem } from "./problems.js";
import { versionServes } from "./reference-data.js";
import { bodyProblem, isJsonContentType } from "./request-parsing.js";
import type { SandboxStore } from "./state.js";

export interface SandboxContext {
  store: SandboxStore;
  apiKey: string;
  pendingCompletesAfterMs: number;
  slowMs: number;
  now: () => Date;
}

/** `Authorization: Bearer <key>`, the scheme matched case-insensitively (trs-api.md §6). */
export function isAuthorised(req: Request, apiKey: string): boolean {
  const match = /^bearer\s+(.+)$/i.exec(req.get("authorization") ?? "");
  return match?.[1]?.trim() === apiKey;
}

/**
 * TRS v3 endpoints: a missing, unknown or too old `X-Api-Version` is a 404 with no body (the
 * endpoint does not exist in that version, trs-api.md §6), checked before the key as routing runs
 * before authentication. The version is kept in `res.locals.apiVersion`.
 */
export function trsGate(ctx: SandboxContext, since: string): RequestHandler {
  return (req, res, next) => {
    const version = req.get("x-api-version")?.trim();
    if (!versionServes(version, since)) return sendEmpty(res, 404);
    if (!isAuthorised(req, ctx.apiKey)) return sendEmpty(res, 401);
    res.locals.apiVersion = version;
    next();
  };
}

/** DQT v2 endpoints: no version header, same key check. */
export function dqtGate(ctx: SandboxContext): RequestHandler {
  return (req, res, next) => {
    if (!isAuthorised(req, ctx.apiKey)) return sendEmpty(res, 401);
    next();
  };
}

/**
 * Parses a JSON body after the gate (so a bad body never hides a 401 or 404). Malformed JSON reaches
 * the sandbox's error handler as a 400; a missing content type is a 415 as in ASP.NET.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({ type: (req) => isJsonContentType(req.headers["content-type"]), limit: "100kb" });
  const require: RequestHandler = (req, res, next) => {
    const problem = bodyProblem(req);
    if (problem === "unsupported-media-type") return sendUnsupportedMediaType(res);
    if (problem === "empty") return sendValidationProblem(res, { "": ["A non-empty request body is required."] });
    next();
  };
  return [parse, require];
}

/**
 * The markers that answer any call for a person (markers.ts): `+slow` waits, then `+err500` and
 * `+err503` answer with an empty body. Returns true when the response has been sent.
 */
export async function answeredByMarkers(ctx: SandboxContext, found: ReadonlySet<Marker>, res: Response): Promise<boolean> {
  if (found.has("slow")) await new Promise((resolve) => setTimeout(resolve, ctx.slowMs).unref());
  if (found.has("err500")) return (sendEmpty(res, 500), true);
  if (found.has("err503")) return (sendEmpty(res, 503), true);
  return false;
}
