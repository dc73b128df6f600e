/**
 * A bulk retry or cancel is recorded in the audit log once per batch, with that batch's jobs and
 * trainees and its result: not one record for the whole action, not one per job. A batch that
 * fails is recorded as failed, with the batches before it recorded as done.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { cancelInBulk, retryInBulk } from "../../src/trainees/sync-tasks-bulk.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.cleanup());

let trns = 3_100_000;

/** Trainees whose update and award both failed, in trainee id order (the order batches are cut in). */
async function failedTrainees(count: number) {
  const made = [];
  for (let i = 0; i < count; i++) {
    const doc = traineeDocumentSchema.parse(traineeDoc({ state: "trn_received", trn: String(trns++) }));
    const accept = (d: typeof doc) =>
      acceptTraineeDocument({ prisma: world.deps.prisma, doc: d, now: new Date(), trnPoll: world.config.trnPoll, updateDebounceMs: 0 });
    const first = await accept(doc);
    if (first.status === 409) throw new Error("refused");
    await accept({ ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await movePendingTasks(world.deps.prisma, { traineeId: first.trainee.id }, "failed", { errorClass: "api_unavailable", attempts: 3 });
    const tasks = await world.deps.prisma.syncTask.findMany({ where: { traineeId: first.trainee.id }, orderBy: { id: "asc" } });
    expect(tasks.map((t) => t.kind)).toEqual(["update_trainee", "award_trainee"]);
    made.push({ id: first.trainee.id, slug: doc.slug, tasks: tasks.map((t) => t.id) });
  }
  return made.sort((a, b) => (a.id < b.id ? -1 : 1));
}

const recordsOf = (action: string, actor: string) =>
  world.deps.prisma.auditEntry.findMany({ where: { action, actor }, orderBy: { id: "asc" } });

/** What a batch's record should list: its jobs, then its trainees. */
const targetsOf = (batch: Awaited<ReturnType<typeof failedTrainees>>) =>
  expect.arrayContaining([...batch.flatMap((t) => t.tasks.map((id) => `task:${id}`)), ...batch.map((t) => `trainee:${t.slug}`)]);

describe("bulk actions in the audit log", () => {
  it("record one entry per batch of a retry, listing that batch's jobs and trainees", async () => {
    const trainees = await failedTrainees(7);
    const awards = trainees.map((t) => t.tasks[1]!);
    const done = await retryInBulk(world.deps.prisma, {
      taskIds: awards,
      actor: "Ada",
      now: new Date(),
      auditAction: "retry-failed-jobs",
      batchSize: 3,
    });
    expect(done.flatMap((p) => p.tasks)).toHaveLength(14);
    const records = await recordsOf("retry-failed-jobs", "Ada");
    expect(records).toHaveLength(3);
    const batches = [trainees.slice(0, 3), trainees.slice(3, 6), trainees.slice(6)];
    records.forEach((record, i) => {
      const batch = batches[i]!;
      expect(record.targets).toHaveLength(batch.length * 3);
      expect(record.targets).toEqual(targetsOf(batch));
      expect(record.result).toBe(
        `ok: retried ${batch.length * 2} jobs for ${batch.length} trainee${batch.length === 1 ? "" : "s"} (batch ${i + 1} of 3)`,
      );
      expect(record.details).toEqual({ batch: i + 1, batches: 3 });
    });
  });

  it("record one entry per batch of a cancel; a batch with nothing left to do is not recorded", async () => {
    const trainees = await failedTrainees(5);
    // the last two trainees' jobs are no longer failed by the time the cancel runs
    await retryInBulk(world.deps.prisma, {
      taskIds: trainees.slice(3).map((t) => t.tasks[1]!),
      actor: "someone else",
      now: new Date(),
      auditAction: "retry-failed-jobs",
    });
    await cancelInBulk(world.deps.prisma, {
      taskIds: trainees.flatMap((t) => t.tasks),
      actor: "Bea",
      reason: "sent by hand",
      now: new Date(),
      auditAction: "cancel-failed-jobs",
      batchSize: 2,
    });
    const records = await recordsOf("cancel-failed-jobs", "Bea");
    expect(records.map((r) => r.result)).toEqual([
      "ok: cancelled 4 jobs for 2 trainees (batch 1 of 3)",
      "ok: cancelled 2 jobs for 1 trainee (batch 2 of 3)",
    ]);
    expect(records[0]!.targets).toEqual(targetsOf(trainees.slice(0, 2)));
    expect(records[1]!.targets).toEqual(targetsOf(trainees.slice(2, 3)));
    expect(records[1]!.targets).toHaveLength(3);
  });

  it("record a batch that fails as failed, after the batches done before it, and stop there", async () => {
    const trainees = await failedTrainees(6);
    const broken = trainees[2]!; // in the second batch of two
    const client = new pg.Client({ connectionString: world.config.databaseUrl });
    await client.connect();
    try {
      await client.query(`
        CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the timeline is unavailable'; END $$;
        CREATE TRIGGER test_refuse_event BEFORE INSERT ON sync_events FOR EACH ROW
          WHEN (NEW.trainee_id = '${broken.id}') EXECUTE FUNCTION test_refuse_event();`);
      await expect(
        retryInBulk(world.deps.prisma, {
          taskIds: trainees.map((t) => t.tasks[1]!),
          actor: "Cy",
          now: new Date(),
          auditAction: "retry-failed-jobs",
          batchSize: 2,
        }),
      ).rejects.toThrow(/the timeline is unavailable/);
    } finally {
      await client.query(`DROP TRIGGER test_refuse_event ON sync_events; DROP FUNCTION test_refuse_event()`);
      await client.end();
    }
    const records = await recordsOf("retry-failed-jobs", "Cy");
    expect(records.map((r) => r.result)).toEqual([
      "ok: retried 4 jobs for 2 trainees (batch 1 of 3)",
      expect.stringMatching(/^failed: batch 2 of 3, nothing in it done: .*the timeline is unavailable/),
    ]);
    expect(records[1]!.targets).toEqual(trainees.slice(2, 4).map((t) => `task:${t.tasks[1]}`));
    // the failed batch and the one after it are untouched
    const states = await world.deps.prisma.syncTask.findMany({
      where: { id: { in: trainees.slice(2).flatMap((t) => t.tasks) } },
      select: { state: true },
    });
    expect(states.every((s) => s.state === "failed")).toBe(true);
  });
});
