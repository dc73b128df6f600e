/**
 * Fenced writes: when two runs of one task overlap (a stalled re-run, a job re-added after a Redis
 * wipe) or support changes the task under a run, only the run holding the latest claim records an
 * outcome; stalls are counted per run and reset by every outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { cancelTasks, claimTask, recordRun, type Claim } from "../../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.cleanup());

const now = () => new Date();

/** A trainee with a TRN and one pending update task. */
async function updateTask() {
  const doc = traineeDocumentSchema.parse(
    traineeDoc({ state: "trn_received", trn: String(1_000_000 + Math.floor(Math.random() * 8_999_999)) }),
  );
  const accepted = await acceptTraineeDocument({
    prisma: world.deps.prisma,
    doc,
    now: now(),
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 0,
  });
  if (accepted.status === 409) throw new Error("refused");
  return world.deps.prisma.syncTask.findFirstOrThrow({ where: { traineeId: accepted.trainee.id, kind: "update_trainee" } });
}

const claim = (taskId: bigint, maxStalls = 3) => claimTask(world.deps.pool, { taskId, attempt: 1, now: now(), maxStalls });
function claimed(result: Claim) {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result;
}
const state = async (id: bigint) => (await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id } })).state;

describe("fenced writes", () => {
  it("a stale run cannot record an outcome once another run claimed the task", async () => {
    const task = await updateTask();
    const first = claimed(await claim(task.id)); // its worker then stalls…
    const second = claimed(await claim(task.id)); // …and BullMQ runs the job again elsewhere
    expect(second.fence.claim).toBe(first.fence.claim + 1);
    expect(await recordRun(world.deps.pool, first.fence, { state: "succeeded" }, now())).toBe(false);
    expect(await state(task.id)).toBe("running");
    expect(await recordRun(world.deps.pool, second.fence, { state: "succeeded" }, now())).toBe(true);
    expect(await state(task.id)).toBe("succeeded");
    // and the stale run cannot put a finished task back in the queue either
    expect(await recordRun(world.deps.pool, first.fence, { state: "queued" }, now())).toBe(false);
    expect(await state(task.id)).toBe("succeeded");
  });

  it("a run cancelled in flight records nothing: neither success nor a retry nor a failure", async () => {
    const task = await updateTask();
    const run = claimed(await claim(task.id));
    await world.deps.prisma.$transaction((tx) => cancelTasks(tx, { where: { id: task.id }, now: now() }));
    for (const outcome of [
      { state: "succeeded" as const },
      { state: "queued" as const },
      { state: "failed" as const, error: { errorClass: "api_unavailable", httpStatus: 500, errorCode: null, message: "500" } },
    ]) {
      expect(await recordRun(world.deps.pool, run.fence, outcome, now())).toBe(false);
    }
    expect(await state(task.id)).toBe("cancelled");
    expect((await claim(task.id)).kind).toBe("already-done");
  });

  it("a failed task cannot be re-run by a stale run after support retried it", async () => {
    const task = await updateTask();
    const run = claimed(await claim(task.id));
    const error = { errorClass: "validation_failed", httpStatus: 400, errorCode: null, message: "400" };
    expect(await recordRun(world.deps.pool, run.fence, { state: "failed", error }, now())).toBe(true);
    // the stale run tries to put its failed task back into the queue
    expect(await recordRun(world.deps.pool, run.fence, { state: "queued", error }, now())).toBe(false);
    expect(await state(task.id)).toBe("failed");
  });
});

describe("stalls", () => {
  it("fail a task as job_stalled once it is found running more than the limit in a row", async () => {
    const task = await updateTask();
    for (let i = 0; i < 4; i++) claimed(await claim(task.id, 3)); // claim, then 3 stalls
    const out = await claim(task.id, 3);
    expect(out.kind).toBe("stalled-out");
    const row = await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } });
    expect(row).toMatchObject({ state: "failed", errorClass: "job_stalled", stalls: 4 });
    const events = await world.deps.prisma.syncEvent.findMany({ where: { taskId: task.id } });
    expect(events.map((e) => [e.kind, e.errorClass])).toContainEqual(["update_trainee_failed", "job_stalled"]);
  });

  it("are reset by every recorded outcome, so a poll that lives for days across restarts never stalls out", async () => {
    const task = await updateTask();
    for (let day = 0; day < 10; day++) {
      claimed(await claim(task.id, 3)); // a restart kills the run…
      const rerun = claimed(await claim(task.id, 3)); // …the re-run polls and re-delays
      expect(await recordRun(world.deps.pool, rerun.fence, { state: "queued" }, now())).toBe(true);
    }
    expect(await state(task.id)).toBe("queued");
    expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } })).stalls).toBe(0);
  });
});
