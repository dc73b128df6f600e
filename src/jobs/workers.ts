/**
 * The BullMQ workers: one generic loop over the job definitions of the registry.
 */
import { Worker, type Job } from "bullmq";
import type { Deps } from "../deps.js";
import { createSlackClient } from "../clients/slack.js";
import { ALERTS_QUEUE, TEACHER_RECORDS_QUEUE } from "./queues.js";
import { syncJobsByName } from "./registry.js";
import { runSyncJob } from "./run-task.js";
import { retryDelay, type RetryPolicy } from "./job.js";
import { handleSlackAlert, slackAlertRetry } from "./slack-alert.js";
import { classify } from "./classify.js";

export interface Workers {
  teacherRecords: Worker;
  alerts: Worker;
  close(): Promise<void>;
}

export function startWorkers(deps: Deps): Workers {
  const prefix = deps.config.redisPrefix;
  const base = deps.config.retryBaseDelayMs;
  const withBase = (policy: RetryPolicy): RetryPolicy => (base === undefined ? policy : { ...policy, baseDelayMs: base });
  const processSync = async (job: Job, token?: string) => {
    const definition = syncJobsByName.get(job.name);
    if (!definition) throw new Error(`unknown job name ${job.name}`);
    return runSyncJob({ deps, definition, job, token, worker: teacherRecords });
  };
  const teacherRecords: Worker = new Worker(TEACHER_RECORDS_QUEUE, processSync, {
    connection: deps.newRedis("worker"),
    prefix,
    concurrency: deps.config.workerConcurrency,
    // A killed worker's jobs are taken up again by another once their lock expires.
    lockDuration: deps.config.jobLockDurationMs,
    stalledInterval: deps.config.jobLockDurationMs,
    maxStalledCount: 3,
    // TRS allows 1000 requests a minute per client; this ceiling holds across all our workers.
    limiter: { max: deps.config.api.ratePerMinute, duration: 60_000 },
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
    concurrency: 2,
    settings: { backoffStrategy: (attemptsMade) => retryDelay(withBase(slackAlertRetry), attemptsMade) },
  });

  for (const worker of [teacherRecords, alerts]) {
    worker.on("error", (error) => deps.logger.warn({ err: error.message, queue: worker.name }, "worker error"));
  }
  alerts.on("failed", (job, error) => deps.logger.warn({ jobId: job?.id, err: error.message }, "slack alert attempt failed"));

  return {
    teacherRecords,
    alerts,
    async close() {
      await Promise.allSettled([teacherRecords.close(), alerts.close()]);
    },
  };
}
