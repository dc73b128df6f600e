/**
 * Where trs-sync changes what BullMQ holds for a task, outside the workers themselves.
 *
 * ensureJob (the dispatcher) makes sure one job exists under the task's deterministic id, whatever
 * BullMQ already holds there: nothing (add it), waiting/delayed/active (leave it), or finished
 * (replace it: support retried the task, or it had been parked out of turn). A finished job is
 * removed and added afresh rather than retried in place, so that the new job waits for the task's
 * `available_at` (the update debounce) and starts with fresh attempt and stall counters.
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

export async function ensureJob(options: {
  queue: Queue;
  name: string;
  jobId: string;
  data: Record<string, unknown>;
  delayMs: number;
  retry: RetryPolicy;
}): Promise<"added" | "exists" | "replaced"> {
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
  const opts: JobsOptions = {
    jobId,
    delay: Math.max(0, options.delayMs),
    attempts: options.retry.attempts,
    backoff: { type: "classified", delay: options.retry.baseDelayMs },
    ...retention,
  };
  await queue.add(options.name, options.data, opts);
  return outcome;
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
