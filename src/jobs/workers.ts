/**
 * The BullMQ workers: one generic loop over the job definitions of the registry.
 */
import { bullmqTelemetry } from "../trace-context.js";
import { Worker, type Job } from "bullmq";
import type { Deps } from "../deps.js";
import { createSlackClient } from "../clients/slack.js";
import { ALERTS_QUEUE, TEACHER_RECORDS_QUEUE } from "./queues.js";
import { syncJobsByName } from "./registry.js";
import { runSyncJob } from "./run-task.js";
import { retryDelay, type RetryPolicy } from "./job.js";
import { handleSlackAlert, recordAlertFailure, slackAlertPayload, slackAlertRetry } from "./slack-alert.js";
import { classify, classifyJobFailure } from "./classify.js";
import { syncJobPayload } from "./job.js";
import { recordLostFailure } from "../trainees/sync-tasks.js";
import type { JobSample } from "../metrics.js";
import type { CircuitMonitor } from "./circuit-monitor.js";

export interface Workers {
  teacherRecords: Worker;
  alerts: Worker;
  close(): Promise<void>;
}

/**
 * A run's duration, and for a job's first run its wait since it could run (a later run follows a
 * retry or a reschedule, whose wait is the point, not a delay).
 */
function observeJob(deps: Deps, queue: string, job: Job | undefined, outcome: JobSample["outcome"], errorClass?: string) {
  if (!job?.processedOn) return;
  const readyAt = job.timestamp + (job.opts.delay ?? 0);
  deps.metrics.observeJob({
    queue,
    name: job.name,
    outcome,
    durationMs: (job.finishedOn ?? Date.now()) - job.processedOn,
    ...(job.attemptsStarted <= 1 ? { waitMs: job.processedOn - readyAt } : {}),
    ...(errorClass ? { errorClass } : {}),
  });
}

export function startWorkers(deps: Deps, options: { circuit?: CircuitMonitor } = {}): Workers {
  const prefix = deps.config.redisPrefix;
  const base = deps.config.retryBaseDelayMs;
  const withBase = (policy: RetryPolicy): RetryPolicy => (base === undefined ? policy : { ...policy, baseDelayMs: base });
  const processSync = async (job: Job, token?: string) => {
    const definition = syncJobsByName.get(job.name);
    if (!definition) throw new Error(`unknown job name ${job.name}`);
    return runSyncJob({ deps, definition, job, token, worker: teacherRecords, ...(options.circuit ? { circuit: options.circuit } : {}) });
  };
  const teacherRecords: Worker = new Worker(TEACHER_RECORDS_QUEUE, processSync, {
    connection: deps.newRedis("worker"),
    prefix,
    ...bullmqTelemetry(),
    concurrency: deps.config.workerConcurrency,
    // A killed worker's jobs are taken up again by another once their lock expires.
    lockDuration: deps.config.jobLockDurationMs,
    stalledInterval: deps.config.jobLockDurationMs,
    // Stalls are counted per run in Postgres and fail a task after MAX_STALLS in a row (run-task.ts).
    // BullMQ's own counter never resets over a job's life, and a poll job lives for days across
    // deploys, so its limit is only a backstop here.
    maxStalledCount: 1_000,
    // No BullMQ limiter: it counts jobs started, not requests. Every request to the API passes the
    // request gate instead (clients/request-gate.ts), shared by every process.
    settings: {
      backoffStrategy: (attemptsMade, _type, error, job) => {
        const definition = job ? syncJobsByName.get(job.name) : undefined;
        const retryAfter = error ? classify(error).retryAfterMs : null;
        if (retryAfter) return retryAfter;
        return definition ? retryDelay(withBase(definition.retry), attemptsMade) : 60_000;
      },
    },
  });

  const slack = deps.config.slackWebhookUrl ? createSlackClient({ webhookUrl: deps.config.slackWebhookUrl }) : null;
  const alerts = new Worker(ALERTS_QUEUE, async (job) => handleSlackAlert({ deps, slack, job }), {
    connection: deps.newRedis("worker"),
    prefix,
    ...bullmqTelemetry(),
    concurrency: 2,
    settings: { backoffStrategy: (attemptsMade) => retryDelay(withBase(slackAlertRetry), attemptsMade) },
  });

  for (const worker of [teacherRecords, alerts]) {
    worker.on("error", (error) => deps.logger.warn({ err: error.message, queue: worker.name }, "worker error"));
    worker.on("completed", (job) => observeJob(deps, worker.name, job, "completed"));
    worker.on("failed", (job, error) =>
      observeJob(deps, worker.name, job, job?.finishedOn ? "failed_for_good" : "failed", classifyJobFailure(error).errorClass.name),
    );
  }
  // A job BullMQ failed for good is recorded in Postgres even when the runner could not record it
  // (Postgres failed in the claim or the last write, a stall limit, a crash): no task stays queued
  // or running unseen. The reconciler does the same for failures this listener misses.
  teacherRecords.on("failed", (job, error) => {
    if (!job?.finishedOn) return; // retried later
    const payload = syncJobPayload.safeParse(job.data);
    const definition = syncJobsByName.get(job.name);
    if (!payload.success || !definition) return;
    const classified = classifyJobFailure(error);
    void recordLostFailure(deps.prisma, {
      taskId: BigInt(payload.data.taskId),
      error: {
        errorClass: classified.errorClass.name,
        httpStatus: classified.httpStatus,
        errorCode: classified.errorCode,
        message: classified.message,
      },
      now: deps.now(),
      jobId: job.id ?? "",
      jobName: definition.name,
    }).catch((err: Error) => deps.logger.warn({ jobId: job.id, err: err.message }, "could not record a failed job; the reconciler will"));
  });
  alerts.on("failed", (job, error) => {
    deps.logger.warn({ jobId: job?.id, err: error.message }, "slack alert attempt failed");
    const payload = slackAlertPayload.safeParse(job?.data);
    if (!job?.finishedOn || !payload.success) return;
    void recordAlertFailure(deps.prisma, { alertId: BigInt(payload.data.alertId) }).catch((err: Error) =>
      deps.logger.warn({ jobId: job.id, err: err.message }, "could not record a failed alert; the reconciler will"),
    );
  });

  return {
    teacherRecords,
    alerts,
    async close() {
      await Promise.allSettled([teacherRecords.close(), alerts.close()]);
    },
  };
}
