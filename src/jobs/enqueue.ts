/**
 * Where trs-sync changes what BullMQ holds for a task, outside the workers themselves.
 *
 * ensureJob (the dispatcher) makes sure one job exists under the task's deterministic id, whatever
 * BullMQ already holds there: nothing (add it), waiting/delayed/active (leave it), or finished
 * (replace it: support retried the task, or it had been parked out of turn). A finished job is
 * removed and added afresh rather than retried in place, so that the new job waits for the task's
 * `available_at` (the update debounce) and starts with fresh attempt and stall counters.
 *
 * ensureJobs does the same for a batch in two round trips, as the common case is a job BullMQ has
 * never seen: one pipelined presence check, one addBulk for the ids BullMQ does not hold, and
 * ensureJob only for those it holds already and for jobs that continue a trace.
 *
 * queueControl (support actions) removes the jobs of cancelled tasks and brings a delayed poll
 * forward. Those calls are best effort: Postgres has already decided, and a job left behind finds
 * its task cancelled (or its poll due) when it runs.
 */
import type { JobsOptions, Queue } from "bullmq";
import type { SyncTaskKind } from "../generated/prisma/client.js";
import type { QueueControl } from "../trainees/support-actions.js";
import { retention, taskJobId, type Queues } from "./queues.js";
import type { RetryPolicy } from "./job.js";
import type { RedisConnection } from "../redis.js";
import { withTraceparent } from "../trace-context.js";

export interface JobSpec {
  name: string;
  jobId: string;
  data: Record<string, unknown>;
  /** not run before now + delayMs (negative: at once) */
  delayMs: number;
  retry: RetryPolicy;
}

/** The options every task and alert job is added with, one way or the other. */
export function jobOptions(spec: Pick<JobSpec, "jobId" | "delayMs" | "retry">): JobsOptions {
  return {
    jobId: spec.jobId,
    delay: Math.max(0, spec.delayMs),
    attempts: spec.retry.attempts,
    backoff: { type: "classified", delay: spec.retry.baseDelayMs },
    ...retention,
  };
}

export async function ensureJob(options: JobSpec & { queue: Queue }): Promise<"added" | "exists" | "replaced"> {
  const { queue, jobId } = options;
  const existing = await queue.getJob(jobId);
  let outcome: "added" | "replaced" = "added";
  if (existing) {
    const state = await existing.getState();
    if (state !== "completed" && state !== "failed") return "exists";
    // 0: someone retried it meanwhile (a Bull Board retry) and it is running: the caller keeps
    // the task pending and looks again on its next pass.
    if ((await queue.remove(jobId)) !== 1) throw new Error(`job ${jobId} could not be replaced: it started meanwhile`);
    outcome = "replaced";
  }
  await queue.add(options.name, options.data, jobOptions(options));
  return outcome;
}

/**
 * ensureJob for each of `jobs`. A job with a `traceparent` (tracing on) is added on its own inside
 * that trace, so that it continues the trace of the change that made it. Throws if any could not
 * be made sure of; those that were are left in place (their ids are deterministic, so the next try
 * finds them).
 */
export async function ensureJobs(queue: Queue, jobs: (JobSpec & { traceparent?: string | null })[]): Promise<void> {
  const plain = jobs.filter((job) => !job.traceparent);
  const ids = plain.map((job) => job.jobId);
  const held = ids.length ? await holds(queue, ids) : [];
  const missing = plain.filter((_, index) => !held[index]);
  if (missing.length) await queue.addBulk(missing.map((job) => ({ name: job.name, data: job.data, opts: jobOptions(job) })));
  for (const [index, job] of plain.entries()) if (held[index]) await ensureJob({ ...job, queue });
  for (const job of jobs) if (job.traceparent) await withTraceparent(job.traceparent, () => ensureJob({ ...job, queue }));
}

/**
 * Whether BullMQ holds a job (in any state) under each id, in one round trip. The job hash key
 * comes from the queue (its prefix carries the hash tag on a Redis Cluster, so every key of the
 * pipeline is on one node).
 */
async function holds(queue: Queue, jobIds: string[]): Promise<boolean[]> {
  // the queue's own connection: the ioredis client createQueues gave it, behind BullMQ's proxy
  const redis = (await queue.backend.client) as unknown as RedisConnection;
  const pipeline = redis.pipeline();
  for (const id of jobIds) pipeline.exists(queue.toKey(id));
  const results = (await pipeline.exec()) ?? [];
  return jobIds.map((id, index) => {
    const [error, exists] = results[index] ?? [new Error(`no answer about job ${id}`), 0];
    if (error) throw error;
    return exists === 1;
  });
}

/** The BullMQ side of support actions, on the teacher-records queue. */
export function queueControl(queues: Pick<Queues, "teacherRecords">): QueueControl {
  const queue = queues.teacherRecords;
  const jobIdOf = (task: { kind: SyncTaskKind; id: bigint }) => taskJobId(task.kind, task.id);
  return {
    async remove(tasks) {
      // A job in flight is locked and stays; its run is fenced out and ends quietly.
      await Promise.all(tasks.map((task) => queue.remove(jobIdOf(task))));
    },
    async runNow(task) {
      const job = await queue.getJob(jobIdOf(task));
      if (job && (await job.isDelayed())) await job.promote();
    },
  };
}
