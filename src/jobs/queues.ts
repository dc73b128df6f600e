/**
 * Queue and job names (CONTRACT.md §6) and their default options. One queue carries every call to
 * the teacher records API, so one rate limit covers them all.
 */
import { bullmqTelemetry } from "../trace-context.js";
import { Queue, type JobsOptions } from "bullmq";
import type { RedisConnection } from "../redis.js";
import type { SyncTaskKind } from "../generated/prisma/client.js";

export const TEACHER_RECORDS_QUEUE = "teacher-records";
export const ALERTS_QUEUE = "alerts";

export const jobNames = {
  register_for_trn: "register-for-trn",
  poll_trn: "poll-trn",
  update_trainee: "update-trainee",
  withdraw_trainee: "withdraw-trainee",
  award_trainee: "award-trainee",
} as const satisfies Record<SyncTaskKind, string>;

export type JobName = (typeof jobNames)[SyncTaskKind];

/** Job name → task kind (`update-trainee` → `update_trainee`). */
export const jobNamesToKind: Readonly<Record<string, SyncTaskKind>> = Object.fromEntries(
  Object.entries(jobNames).map(([kind, name]) => [name, kind as SyncTaskKind]),
);
export const SLACK_ALERT_JOB = "slack-alert";

/**
 * Deterministic job ids: a repeated dispatch, a second dispatcher or the reconciler can only ever
 * add the same job once. BullMQ rejects ids with ':' or made only of digits.
 */
export const taskJobId = (kind: SyncTaskKind, taskId: bigint | number | string) => `${jobNames[kind]}-${taskId}`;
export const alertJobId = (alertId: bigint | number | string) => `${SLACK_ALERT_JOB}-${alertId}`;

/** Finished jobs are kept for support and Bull Board; Postgres keeps the lasting record. */
export const retention = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  // Postgres holds every failed task (the dashboard reads it there): Redis keeps the newest for Bull Board
  removeOnFail: { age: 90 * 24 * 3600, count: 10_000 },
} satisfies Pick<JobsOptions, "removeOnComplete" | "removeOnFail">;

export interface Queues {
  teacherRecords: Queue;
  alerts: Queue;
  close(): Promise<void>;
}

export function createQueues(connection: RedisConnection, prefix: string): Queues {
  const teacherRecords = new Queue(TEACHER_RECORDS_QUEUE, { connection, prefix, ...bullmqTelemetry() });
  const alerts = new Queue(ALERTS_QUEUE, { connection, prefix, ...bullmqTelemetry() });
  // A Queue without listeners turns a lost connection into an unhandled 'error' event.
  teacherRecords.on("error", () => {});
  alerts.on("error", () => {});
  return {
    teacherRecords,
    alerts,
    async close() {
      await Promise.allSettled([teacherRecords.close(), alerts.close()]);
    },
  };
}
