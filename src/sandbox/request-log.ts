/**
 * The record of every TRS/DQT request the sandbox received, in arrival order, so that tests and
 * the demo can assert what a client actually sent. Control requests (/__sandbox) are not recorded.
 */
import type { Request, RequestHandler } from "express";
import type { Logger } from "pino";

export interface SandboxRequestLogEntry {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** the parsed JSON body; null when there was none or it was not read (bad JSON, injected fault) */
  body: unknown;
  /** 0 until the answer has been sent, and for good when the client went away first (the body is kept) */
  status: number;
  api: "trs" | "dqt" | "control";
  /** the W3C trace context the client sent, if any (trs-sync sends one while tracing is on) */
  traceparent?: string;
}

/** `/v1` and `/v2` are DQT's; everything else, unknown paths included, is counted as TRS. */
function apiOf(path: string): SandboxRequestLogEntry["api"] {
  return /^\/v[12](\/|$)/i.test(path) ? "dqt" : "trs";
}

function flatQuery(req: Request): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
    query[name] = Array.isArray(value) ? value.map(String).join(",") : String(value);
  }
  return query;
}

/**
 * Appends an entry when a request arrives and completes it when the answer is sent. Logs method,
 * path and status only: bodies hold trainees' personal data.
 */
export function recordRequests(options: { log: SandboxRequestLogEntry[]; now: () => Date; logger?: Logger | undefined }): RequestHandler {
  return (req, res, next) => {
    const started = Date.now();
    const entry: SandboxRequestLogEntry = {
      at: options.now().toISOString(),
      method: req.method,
      path: req.path,
      query: flatQuery(req),
      body: null,
      status: 0,
      api: apiOf(req.path),
      ...(typeof req.headers.traceparent === "string" ? { traceparent: req.headers.traceparent } : {}),
    };
    options.log.push(entry);
    res.on("finish", () => {
      entry.status = res.statusCode;
      entry.body = req.body ?? null;
      options.logger?.info(
        { method: entry.method, path: entry.path, status: entry.status, api: entry.api, ms: Date.now() - started },
        "sandbox request",
      );
    });
    // a client that went away before the answer (a killed worker): status stays 0, the body is kept
    res.on("close", () => {
      if (!res.writableFinished) entry.body = req.body ?? null;
    });
    next();
  };
}
