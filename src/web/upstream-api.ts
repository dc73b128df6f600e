/**
 * The upstream API (CONTRACT.md §4): the application where trainees are edited pushes each
 * trainee document here; trs-sync stores it and the sync work it implies in one transaction.
 */
import { timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Deps } from "../deps.js";
import { dateProblems, fieldErrors, slugPattern, traineeDocumentSchema } from "../trainees/document.js";
import { acceptTraineeDocument } from "../trainees/accept-document.js";
import { traineeView } from "../trainees/records.js";
import { jobNames } from "../jobs/queues.js";
import { blockingStates } from "../trainees/sync-tasks.js";
import type { SyncEvent, SyncTask, Trainee } from "../generated/prisma/client.js";

function bearerAuth(tokens: string[]) {
  const accepted = tokens.map((t) => Buffer.from(t));
  return (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get("authorization") ?? "");
    const given = match ? Buffer.from(match[1]!.trim()) : null;
    const ok = given !== null && accepted.some((t) => t.length === given.length && timingSafeEqual(t, given));
    if (!ok) {
      res.status(401).set("WWW-Authenticate", "Bearer").json({ error: "a valid bearer token is required" });
      return;
    }
    next();
  };
}

export function taskView(task: SyncTask) {
  return {
    taskId: String(task.id),
    jobType: jobNames[task.kind],
    state: task.state,
    attempts: task.attempts,
    availableAt: task.availableAt.toISOString(),
    errorClass: task.errorClass,
    httpStatus: task.httpStatus,
    errorCode: task.errorCode,
    errorMessage: task.errorMessage,
    failedAt: task.failedAt?.toISOString() ?? null,
  };
}

export function eventView(event: SyncEvent) {
  return {
    id: String(event.id),
    at: event.createdAt.toISOString(),
    kind: event.kind,
    outcome: event.outcome,
    message: event.message,
    jobName: event.jobName,
    jobId: event.jobId,
    errorClass: event.errorClass,
    httpStatus: event.httpStatus,
    errorCode: event.errorCode,
  };
}

async function documentWithSync(deps: Deps, trainee: Trainee) {
  const [tasks, lastEvent] = await Promise.all([
    deps.prisma.syncTask.findMany({
      where: { traineeId: trainee.id, state: { in: [...blockingStates] } },
      orderBy: [{ phase: "asc" }, { id: "asc" }],
    }),
    deps.prisma.syncEvent.findFirst({ where: { traineeId: trainee.id }, orderBy: { id: "desc" } }),
  ]);
  // Tasks are in line order: everything after the head waits for it, and says so.
  const head = tasks[0];
  const waitingFor = (task: SyncTask) =>
    head && task.id !== head.id
      ? { waitingFor: { taskId: String(head.id), jobType: jobNames[head.kind], state: head.state, errorClass: head.errorClass } }
      : {};
  return {
    ...traineeView(trainee),
    sync: {
      pending: tasks.filter((t) => t.state !== "failed").map((t) => ({ ...taskView(t), ...waitingFor(t) })),
      failed: tasks.filter((t) => t.state === "failed").map((t) => ({ ...taskView(t), ...waitingFor(t) })),
      lastEvent: lastEvent ? eventView(lastEvent) : null,
    },
  };
}

export function upstreamApi(deps: Deps): Router {
  const router = express.Router();
  router.use(bearerAuth(deps.config.apiTokens));
  router.use(express.json({ limit: "100kb", type: () => true }));

  router.param("slug", (req, res, next, slug: string) => {
    if (!slugPattern.test(slug)) {
      res.status(400).json({ errors: { slug: ["must be 1-100 letters, digits, - or _"] } });
      return;
    }
    next();
  });

  router.put("/trainees/:slug", async (req, res, next) => {
    try {
      const body: unknown = req.body;
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        res.status(400).json({ errors: { document: ["must be a JSON object"] } });
        return;
      }
      const slug = req.params.slug!;
      const withSlug = { ...(body as Record<string, unknown>) };
      if (withSlug.slug === undefined) withSlug.slug = slug;
      if (withSlug.slug !== slug) {
        res.status(400).json({ errors: { slug: ["must equal the slug in the path"] } });
        return;
      }
      const parsed = traineeDocumentSchema.safeParse(withSlug);
      if (!parsed.success) {
        res.status(400).json({ errors: fieldErrors(parsed.error) });
        return;
      }
      const problems = dateProblems(parsed.data, deps.now());
      if (Object.keys(problems).length) {
        res.status(400).json({ errors: problems });
        return;
      }
      const result = await acceptTraineeDocument({
        prisma: deps.prisma,
        doc: parsed.data,
        now: deps.now(),
        trnPoll: deps.config.trnPoll,
        updateDebounceMs: deps.config.updateDebounceMs,
      });
      if (result.status === 409) {
        res.status(409).json(result.body);
        return;
      }
      deps.logger.info({ slug, status: result.status, changed: result.changed, work: result.work }, "trainee document accepted");
      res.status(result.status).json(await documentWithSync(deps, result.trainee));
    } catch (error) {
      next(error);
    }
  });

  router.get("/trainees/:slug", async (req, res, next) => {
    try {
      const trainee = await deps.prisma.trainee.findUnique({ where: { slug: req.params.slug! } });
      if (!trainee) {
        res.status(404).json({ error: "no trainee with this slug" });
        return;
      }
      res.json(await documentWithSync(deps, trainee));
    } catch (error) {
      next(error);
    }
  });

  router.get("/trainees/:slug/timeline", async (req, res, next) => {
    try {
      const trainee = await deps.prisma.trainee.findUnique({ where: { slug: req.params.slug! }, select: { id: true } });
      if (!trainee) {
        res.status(404).json({ error: "no trainee with this slug" });
        return;
      }
      const events = await deps.prisma.syncEvent.findMany({ where: { traineeId: trainee.id }, orderBy: { id: "asc" } });
      res.json({ events: events.map(eventView) });
    } catch (error) {
      next(error);
    }
  });

  return router;
}
