/**
 * Puts one job into BullMQ, whatever BullMQ already holds under its deterministic id: nothing
 * (add it), waiting/delayed/active (leave it), or finished (retry it in place, with its attempts
 * reset: support retried it, or it had been parked out of turn).
 */
import type { JobsOptions, Queue } from "bullmq";
import { retention } from "./queues.js";
import type { RetryPolicy } from "./job.js";

export async function ensureJob(options: {
  queue: Queue;
  name: string;
  jobId: string;
  data: Record<string, unknown>;
  delayMs: number;
  retry: RetryPolicy;
}): Promise<"added" | "exists" | "retried"> {
  const { queue, jobId } = options;
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state !== "completed" && state !== "failed") return "exists";
    try {
      await existing.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch {
      // another dispatcher retried it first, or it was removed meanwhile: the next pass sees it
    }
    return "retried";
  }
  const opts: JobsOptions = {
    jobId,
    delay: Math.max(0, options.delayMs),
    attempts: options.retry.attempts,
    backoff: { type: "classified", delay: options.retry.baseDelayMs },
    ...retention,
  };
  await queue.add(options.name, options.data, opts);
  return "added";
}
