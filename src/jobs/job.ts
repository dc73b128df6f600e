/**
 * What every job of the teacher-records queue is made of. One file per job (jobs/*.ts) exports a
 * SyncJobDefinition; jobs/registry.ts lists them; jobs/run-task.ts runs any of them.
 */
import { z } from "zod";
import type { Deps } from "../deps.js";
import type { SyncTask, SyncTaskKind, Trainee } from "../generated/prisma/client.js";
import type { EventInput } from "../trainees/events.js";
import type { Fence } from "../trainees/sync-tasks.js";
import type { JobName } from "./queues.js";
import type { SyncOperation } from "../clients/teacher-records.js";

/**
 * Job data carries the trainee slug and the outbox task id, never a copy of the trainee: each job
 * reads the trainee when it runs. Payload schemas only ever gain optional fields (jobs already in
 * Redis must still parse).
 */
export const syncJobPayload = z.object({
  slug: z.string().min(1),
  taskId: z.string().regex(/^\d+$/),
});
export type SyncJobPayload = z.infer<typeof syncJobPayload>;

export interface SyncContext {
  deps: Deps;
  task: SyncTask;
  /** read when the job started, after it was marked running */
  trainee: Trainee;
  jobId: string;
  /** what this run's claim returned: task writes made with it land only while the run owns the task */
  fence: Fence;
  now: Date;
  /** false once the run lost its task (cancelled, taken over): it must send nothing more */
  stillOwned(): Promise<boolean>;
  /** adds an event to the trainee's timeline, tagged with this job */
  event(event: Omit<EventInput, "traineeId" | "jobName" | "jobId" | "taskId">): Promise<void>;
}

export type SyncOutcome =
  /** the task is complete; `message` is for the timeline */
  | { done: true; message: string }
  /** call again at `at` without using an attempt (polling) */
  | { done: false; at: Date; message?: string };

export interface RetryPolicy {
  /** total attempts for transient failures, the first included */
  attempts: number;
  /** first retry delay; doubles per attempt, with jitter, capped at maxDelayMs */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface SyncJobDefinition {
  kind: SyncTaskKind;
  name: JobName;
  /** true for work that can only be sent with a TRN (it waits for one in the outbox) */
  needsTrn: boolean;
  /** what the job sends, for jobs that carry one (an error's meaning may depend on it) */
  operation?: SyncOperation;
  /**
   * The most requests one run makes to the teacher records API. With API_TIMEOUT it bounds how long
   * a run may hold its trainee's lock (jobs/run-task.ts).
   */
  maxCalls: number;
  retry: RetryPolicy;
  handle(payload: SyncJobPayload, ctx: SyncContext): Promise<SyncOutcome>;
}

/** A retry schedule of about 4 hours over 10 attempts, as Register settled on (PR #3557). */
export const standardRetry: RetryPolicy = { attempts: 10, baseDelayMs: 30_000, maxDelayMs: 3_600_000 };

export function retryDelay(policy: RetryPolicy, attemptsMade: number, random = Math.random): number {
  const exponential = Math.min(policy.baseDelayMs * 2 ** Math.max(attemptsMade - 1, 0), policy.maxDelayMs);
  return Math.round(exponential * (0.8 + random() * 0.4));
}
