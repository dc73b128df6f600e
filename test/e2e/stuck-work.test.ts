/**
 * No work stuck where nobody sees it: a task whose job BullMQ finished without the runner
 * recording the outcome is repaired (by the failed-job listener at once, or by the reconciler),
 * and a Postgres outage at the claim costs time, not attempts.
 */
import { Worker, UnrecoverableError, type Job } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { createDeps } from "../../src/deps.js";
import { createLogger } from "../../src/logger.js";
import { dispatchOnce } from "../../src/jobs/dispatcher.js";
import { ALERTS_QUEUE, TEACHER_RECORDS_QUEUE, taskJobId } from "../../src/jobs/queues.js";
import { reconcileOnce } from "../../src/jobs/reconciler.js";
import { raiseAlert } from "../../src/jobs/slack-alert.js";
import { retryTask } from "../../src/trainees/support-actions.js";
import { retryFailedTasks } from "../../src/trainees/sync-tasks.js";
import { startWorkerProcess } from "../../src/worker-process.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

let harness: Harness | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await harness?.stop();
  harness = undefined;
});

/** A trainee with a TRN already (its first work is one update), for tests that never reach the API. */
const imported = (overrides: Record<string, unknown> = {}) => {
  const trn = String(3_000_000 + Math.floor(Math.random() * 999_999));
  return { ...traineeDoc({ state: "trn_received", trn, ...overrides }), trn };
};

/** A trainee that got its TRN from the sandbox and is in sync; then one edit, whose update waits UPDATE_DEBOUNCE. */
async function editedTrainee(h: Harness) {
  const doc = traineeDoc({ lastName: "Lovelace +legacy" });
  await h.api.put(doc.slug, doc);
  const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
  await h.waitFor("in sync", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
  await h.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: "Edited" });
  const update = await h.world.deps.prisma.syncTask.findFirstOrThrow({
    where: { trainee: { slug: doc.slug }, state: { in: ["pending", "queued"] } },
  });
  return { ...doc, trn, update };
}

async function taskOf(h: Harness, slug: string) {
  return h.world.deps.prisma.syncTask.findFirstOrThrow({ where: { trainee: { slug } }, orderBy: { id: "asc" } });
}

/** Runs every job of `queue` through `process` with a bare BullMQ worker (no trs-sync runner). */
async function drainWith(h: Harness, queue: string, process: (job: Job) => Promise<string>, until: () => Promise<boolean>) {
  const worker = new Worker(queue, process, { connection: h.world.deps.newRedis("worker"), prefix: h.world.config.redisPrefix });
  try {
    await h.waitFor(`${queue} jobs finished`, until);
  } finally {
    await worker.close();
  }
}

describe("a Postgres outage at the claim", () => {
  it("makes the job wait without spending attempts; once Postgres is back the update is sent", async () => {
    const proxy: TcpProxy = await tcpProxy({ host: "127.0.0.1", port: 5432 });
    cleanups.push(() => proxy.close());
    harness = await startHarness({ startWorker: false, env: { UPDATE_DEBOUNCE: "1s", JOB_RETRY_BASE_DELAY: "20ms" } });
    const h = harness;
    const url = new URL(h.world.config.databaseUrl);
    url.port = String(proxy.port);
    const workerDeps = createDeps({ ...h.world.config, databaseUrl: url.toString() }, { logger: createLogger({ level: "silent" }) });
    const worker = await startWorkerProcess(workerDeps, h.world.queues);
    cleanups.push(
      () => workerDeps.close(),
      () => worker.stop(),
    );

    const doc = await editedTrainee(h);
    const task = await h.waitFor("update queued", async () => {
      const t = await h.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: doc.update.id } });
      return t.state === "queued" ? t : null;
    });
    await proxy.cut();
    const jobId = taskJobId("update_trainee", task.id);
    await h.waitFor("several claims tried while Postgres was away", async () => {
      const job = await h.world.queues.teacherRecords.getJob(jobId);
      return (job?.attemptsStarted ?? 0) >= 4;
    });
    await proxy.restore();

    const done = await h.waitFor("update sent", async () => {
      const t = await h.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } });
      return t.state === "succeeded" ? t : null;
    });
    // the run that succeeded was the job's first attempt: the outage used none
    expect(done.attempts).toBe(1);
    const names = h.sandbox.persons().find((p) => p.trn === doc.trn)?.firstName;
    expect(names).toBe("Edited");
  });
});

describe("a job that fails in BullMQ without the runner recording it", () => {
  it("is recorded as failed by the listener, shown with its class, and can be retried once the cause is gone", async () => {
    harness = await startHarness({ env: { UPDATE_DEBOUNCE: "300ms", JOB_RETRY_BASE_DELAY: "10ms" } });
    const h = harness;
    const doc = traineeDoc({ lastName: "Lovelace +legacy" });
    await h.api.put(doc.slug, doc);
    const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
    await h.waitFor("in sync", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
    const trainee = await h.world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
    // the database refuses the claim of this trainee's work (a stand-in for any error in the claim)
    await h.world.deps.prisma.$executeRawUnsafe(`
      CREATE FUNCTION test_refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await h.world.deps.prisma.$executeRawUnsafe(`
      CREATE TRIGGER test_refuse_claim BEFORE UPDATE ON sync_tasks FOR EACH ROW
      WHEN (NEW.state = 'running' AND NEW.trainee_id = '${trainee.id}') EXECUTE FUNCTION test_refuse_claim()`);
    await h.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: "Edited" });

    const failed = await h.waitFor("failure shown", async () => (await h.trainee(doc.slug)).sync.failed[0]);
    expect(failed).toMatchObject({ jobType: "update-trainee", errorClass: "database_error" });
    const events = (await h.api.timeline(doc.slug)).body.events as { kind: string; errorClass: string | null; message: string }[];
    expect(events.find((e) => e.kind === "update_trainee_failed")).toMatchObject({ errorClass: "database_error" });

    await h.world.deps.prisma.$executeRawUnsafe(`DROP TRIGGER test_refuse_claim ON sync_tasks`);
    await retryTask({ db: h.world.deps.prisma, taskId: BigInt(failed.taskId), now: new Date(), actor: "test" });
    await h.waitFor("settled", async () => {
      const t = await h.trainee(doc.slug);
      return t.sync.pending.length === 0 && t.sync.failed.length === 0;
    });
    expect(h.sandbox.persons().find((p) => p.trn === trn)?.firstName).toBe("Edited");
  });
});

describe("the reconciler", () => {
  it("records a task whose job failed unrecorded, hands back one whose job completed unrecorded, and fails a lost alert", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const { deps, queues } = h.world;
    const failing = imported();
    const completing = imported();
    await h.api.put(failing.slug, failing);
    await h.api.put(completing.slug, completing);
    const trainee = await deps.prisma.trainee.findUniqueOrThrow({ where: { slug: failing.slug } });
    await raiseAlert(deps.prisma, { dedupeKey: "test-alert", kind: "test", traineeId: trainee.id, text: "an alert" });
    await dispatchOnce(deps, queues);
    const [failingTask, completingTask] = [await taskOf(h, failing.slug), await taskOf(h, completing.slug)];
    expect([failingTask.state, completingTask.state]).toEqual(["queued", "queued"]);
    expect((await deps.prisma.alert.findFirstOrThrow()).state).toBe("queued");

    // BullMQ finishes the jobs while the runner records nothing (say Postgres was away throughout)
    const failingJob = taskJobId("update_trainee", failingTask.id);
    await drainWith(
      h,
      TEACHER_RECORDS_QUEUE,
      async (job) => {
        if (job.id === failingJob) throw new UnrecoverableError("api_unavailable: PUT /v3/persons/{trn} → 503");
        return "ok";
      },
      async () => {
        const counts = await queues.teacherRecords.getJobCounts("completed", "failed");
        return counts.completed === 1 && counts.failed === 1;
      },
    );
    await drainWith(
      h,
      ALERTS_QUEUE,
      async () => {
        throw new UnrecoverableError("slack_unavailable: Slack webhook answered 500");
      },
      async () => (await queues.alerts.getJobCounts("failed")).failed === 1,
    );
    expect((await taskOf(h, failing.slug)).state).toBe("queued"); // stuck, blocking the line, unseen

    expect(await reconcileOnce(deps, { graceMs: 0 })).toBe(3);
    expect(await taskOf(h, failing.slug)).toMatchObject({ state: "failed", errorClass: "api_unavailable" });
    expect((await h.trainee(failing.slug)).sync.failed).toMatchObject([{ jobType: "update-trainee", errorClass: "api_unavailable" }]);
    const events = (await h.api.timeline(failing.slug)).body.events as { kind: string; message: string }[];
    expect(events.find((e) => e.kind === "update_trainee_failed")?.message).toContain("recorded now");
    expect((await taskOf(h, completing.slug)).state).toBe("pending");
    expect((await deps.prisma.alert.findFirstOrThrow()).state).toBe("failed");

    // the handed-back task is dispatched again: its finished job is replaced by a fresh one
    await dispatchOnce(deps, queues);
    expect((await taskOf(h, completing.slug)).state).toBe("queued");
    const job = await queues.teacherRecords.getJob(taskJobId("update_trainee", completingTask.id));
    expect(await job?.getState()).toBe("waiting");
    // a second pass finds nothing to repair
    expect(await reconcileOnce(deps, { graceMs: 0 })).toBe(0);
  });
});

describe("a retried task whose job had finished", () => {
  it("gets a fresh job that waits for the task's available_at (the debounce is kept)", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const { deps, queues } = h.world;
    const doc = imported();
    await h.api.put(doc.slug, doc);
    await dispatchOnce(deps, queues);
    const task = await taskOf(h, doc.slug);
    await drainWith(
      h,
      TEACHER_RECORDS_QUEUE,
      async () => {
        throw new UnrecoverableError("validation_failed: PUT /v3/persons/{trn} → 400");
      },
      async () => (await queues.teacherRecords.getJobCounts("failed")).failed === 1,
    );
    await reconcileOnce(deps, { graceMs: 0 });
    const failed = await taskOf(h, doc.slug);
    expect(failed.state).toBe("failed");

    const later = new Date(Date.now() + 3_600_000);
    await deps.prisma.$transaction((tx) => retryFailedTasks(tx, { task: failed, now: later }));
    await dispatchOnce(deps, queues);
    const job = await queues.teacherRecords.getJob(taskJobId("update_trainee", task.id));
    expect(await job?.getState()).toBe("delayed");
    expect(job!.timestamp + job!.delay).toBeGreaterThan(Date.now() + 3_500_000);
    expect(job!.attemptsMade).toBe(0);
  });
});
