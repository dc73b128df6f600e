/**
 * The upstream API (CONTRACT.md §4): the application where trainees are edited pushes each
 * trainee document here; trs-sync stores it and the sync work it implies in one transaction.
 */
import { timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Deps } from "../deps.js";
import { dateProblems, fieldErrors, slugPattern, traineeDocumentSchema } from "../trainees/document.js";
import { acceptTraineeDocument } from "../trainees/accept-document.js";
import { readSyncState, type SyncState } from "../trainees/create-trainee.js";
import { traineeView } from "../trainees/records.js";
import { jobNames, type Queues } from "../jobs/queues.js";
import { queueControl } from "../jobs/enqueue.js";
import { discardTrainee } from "../trainees/discard.js";
import { cancelTask, SupportActionError } from "../trainees/support-actions.js";
import type { SyncEvent, SyncTask, Trainee } from "../generated/prisma/client.js";
import { actionBodySchema, type EventView, type TaskView, type TraineeResponse } from "./upstream-schemas.js";

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

export function taskView(task: SyncTask): TaskView {
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

export function eventView(event: SyncEvent): EventView {
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

/** The trainee as the API answers it, with its sync state (read in one statement unless given). */
async function documentWithSync(deps: Deps, trainee: Trainee, sync?: SyncState): Promise<TraineeResponse> {
  const { tasks, lastEvent } = sync ?? (await readSyncState(deps.pool, trainee.id));
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

export function upstreamApi(deps: Deps, queues: Pick<Queues, "teacherRecords">): Router {
  const queue = queueControl(queues);
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
        pool: deps.pool,
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
      res.status(result.status).json(await documentWithSync(deps, result.trainee, result.sync));
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

  /**
   * Discard (CONTRACT.md §4): work not yet sent is cancelled, polling stops, nothing more is sent.
   * Repeating it is harmless (200 again); an awarded trainee cannot be discarded (409).
   */
  router.delete("/trainees/:slug", async (req, res, next) => {
    try {
      const body = actionBodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        res.status(400).json({ errors: fieldErrors(body.error) });
        return;
      }
      const result = await discardTrainee({
        db: deps.prisma,
        slug: req.params.slug!,
        by: body.data.by ?? "the upstream application",
        reason: body.data.reason ?? null,
        now: deps.now(),
      });
      if (result.status === 404) {
        res.status(404).json({ error: "no trainee with this slug" });
        return;
      }
      if (result.status === 409) {
        res.status(409).json({ error: result.error, allowedTransitions: [] });
        return;
      }
      await queue.remove(result.cancelled).catch(() => {}); // a job left behind finds its task cancelled
      deps.logger.info({ slug: req.params.slug, cancelled: result.cancelled.length }, "trainee discarded");
      res.status(200).json(await documentWithSync(deps, result.trainee));
    } catch (error) {
      next(error);
    }
  });

  /**
   * Cancels a failed job: it leaves the trainee's line, its reason on the timeline, and the work
   * behind it runs. Body `{reason, by?}`; 409 for a job that is not failed.
   */
  router.post("/trainees/:slug/tasks/:taskId/cancel", async (req, res, next) => {
    try {
      const body = actionBodySchema.safeParse(req.body ?? {});
      if (!body.success || !body.data.reason) {
        res.status(400).json({ errors: body.success ? { reason: ["is required"] } : fieldErrors(body.error) });
        return;
      }
      const taskId = /^\d{1,18}$/.test(req.params.taskId!) ? BigInt(req.params.taskId!) : null;
      const task =
        taskId === null
          ? null
          : await deps.prisma.syncTask.findUnique({ where: { id: taskId }, select: { trainee: { select: { slug: true } } } });
      if (!task || task.trainee.slug !== req.params.slug) {
        res.status(404).json({ error: "no such job for this trainee" });
        return;
      }
      const result = await cancelTask({
        db: deps.prisma,
        taskId: taskId!,
        reason: body.data.reason,
        actor: body.data.by ?? "the upstream application",
        now: deps.now(),
        queue,
      });
      res.status(200).json({ cancelled: taskView(result.cancelled), next: result.next ? taskView(result.next) : null });
    } catch (error) {
      if (error instanceof SupportActionError) {
        res.status(409).json({ error: error.message });
        return;
      }
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
