/**
 * One-off faults for tests and the demo: the next `times` requests whose method and path match
 * get a canned answer (401, 403, 429 with Retry-After, 500, 503 …) before any other processing.
 */
import type { RequestHandler, Response } from "express";
import { z } from "zod";

export const faultSchema = z.object({
  /** any method when absent; compared ignoring case */
  method: z.string().min(1).optional(),
  /** a RegExp source matched against the path without the query string */
  path: z.string().min(1),
  status: z.number().int().min(100).max(599),
  /** JSON-encoded unless a string; no body when absent */
  body: z.unknown().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** how many requests get this fault; default 1 */
  times: z.number().int().positive().optional(),
});

export type Fault = z.infer<typeof faultSchema>;

interface QueuedFault {
  method: string | undefined;
  path: RegExp;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  remaining: number;
}

export class FaultQueue {
  private queued: QueuedFault[] = [];

  /** Throws on an invalid fault (bad status, bad regex) so that a test's typo fails loudly. */
  add(input: Fault): void {
    const fault = faultSchema.parse(input);
    this.queued.push({
      method: fault.method?.toUpperCase(),
      path: new RegExp(fault.path),
      status: fault.status,
      body: fault.body,
      headers: fault.headers ?? {},
      remaining: fault.times ?? 1,
    });
  }

  clear(): void {
    this.queued = [];
  }

  /** The first queued fault matching this request, counted as used. */
  take(method: string, path: string): QueuedFault | undefined {
    const fault = this.queued.find(
      (candidate) => (candidate.method === undefined || candidate.method === method.toUpperCase()) && candidate.path.test(path),
    );
    if (fault && --fault.remaining === 0) this.queued = this.queued.filter((candidate) => candidate !== fault);
    return fault;
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const fault = this.take(req.method, req.path);
      if (fault) answerWith(res, fault);
      else next();
    };
  }
}

function answerWith(res: Response, fault: QueuedFault): void {
  res.status(fault.status).set(fault.headers);
  if (fault.body === undefined) {
    res.end();
  } else if (typeof fault.body === "string") {
    if (!res.get("content-type")) res.type("text/plain");
    res.send(fault.body);
  } else {
    if (!res.get("content-type")) res.type(fault.status >= 400 ? "application/problem+json" : "application/json");
    res.send(JSON.stringify(fault.body));
  }
}
