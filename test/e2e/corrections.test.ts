/**
 * The corrections support needs (Register has them): undo a withdrawal, correct a recommendation
 * before the award reached TRS, discard a trainee, cancel a failed job. Each goes through the
 * upstream API, ends with TRS holding what it should, and leaves the reason on the timeline.
 */
import { afterEach, describe, expect, it } from "vitest";
import { queueControl } from "../../src/jobs/enqueue.js";
import { taskJobId } from "../../src/jobs/queues.js";
import { reconcileOnce } from "../../src/jobs/reconciler.js";
import { retryTask } from "../../src/trainees/support-actions.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function settled(h: Harness, slug: string) {
  return h.waitFor(`${slug} settled`, async () => {
    const t = await h.trainee(slug);
    return t.sync.pending.length === 0 ? t : null;
  });
}

/** A trainee with its TRN, in sync. */
async function inTraining(h: Harness, overrides: Record<string, unknown> = {}) {
  const doc = traineeDoc(overrides);
  await h.api.put(doc.slug, doc);
  const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
  await settled(h, doc.slug);
  return { ...doc, state: "trn_received", trn: trn as string };
}

const statuses = (h: Harness, slug: string) =>
  h.sandbox
    .requestLog()
    .filter((r) => r.method === "PUT" && r.path.endsWith(`/routes-to-professional-statuses/${slug}`))
    .map((r) => `${(r.body as { status?: string } | null)?.status ?? "(fault)"}:${r.status}`);

const events = async (h: Harness, slug: string) =>
  (await h.api.timeline(slug)).body.events as { kind: string; message: string | null; outcome: string }[];

describe("undoing a withdrawal", () => {
  it("puts the trainee back in training and sends InTraining again; deferred is refused, as TRS refuses it", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = await inTraining(h);
    await h.api.put(doc.slug, { ...doc, state: "withdrawn", withdrawDate: "2026-10-01" });
    await settled(h, doc.slug);

    const deferred = await h.api.put(doc.slug, { ...doc, state: "deferred" });
    expect(deferred.status).toBe(409);
    expect(deferred.body).toEqual({
      error: "TRS does not let a withdrawn route become deferred (its error 10056): undo the withdrawal first, then defer",
      allowedTransitions: ["trn_received"],
    });

    const undone = await h.api.put(doc.slug, { ...doc, state: "trn_received" });
    expect(undone.status).toBe(200);
    expect(undone.body.state).toBe("trn_received");
    await settled(h, doc.slug);
    expect(statuses(h, doc.slug)).toEqual(["InTraining:204", "Withdrawn:204", "InTraining:204"]);
    expect(h.sandbox.persons().find((p) => p.trn === doc.trn)!.routes[doc.slug]).toMatchObject({ status: "InTraining" });
    // and now the deferral TRS allows
    await h.api.put(doc.slug, { ...doc, state: "deferred" });
    await settled(h, doc.slug);
    expect(statuses(h, doc.slug).at(-1)).toBe("Deferred:204");
  });

  it("made before the withdrawal reached TRS, cancels it: TRS never sees it", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const worker = await h.startWorker();
    const doc = await inTraining(h);
    await worker.stop();
    await h.api.put(doc.slug, { ...doc, state: "withdrawn", withdrawDate: "2026-10-01" });
    const undone = await h.api.put(doc.slug, { ...doc, state: "trn_received" });
    expect(undone.body.sync.pending.map((t: { jobType: string }) => t.jobType)).toEqual(["update-trainee"]);
    await h.startWorker();
    await settled(h, doc.slug);
    expect(statuses(h, doc.slug)).toEqual(["InTraining:204"]);
    expect(
      (await events(h, doc.slug)).find((e) => e.kind === "trainee_changed" && e.message?.includes("withdrawn → trn_received"))?.message,
    ).toMatch(/cancelled: withdraw_trainee #\d+/);
  });
});

describe("correcting a recommendation", () => {
  it("before the award reached TRS cancels the award; TRS never gets Holds", async () => {
    harness = await startHarness({ env: { UPDATE_DEBOUNCE: "1h" } });
    const h = harness;
    const doc = await inTraining(h, { lastName: "Lovelace +legacy" });
    const recommended = await h.api.put(doc.slug, {
      ...doc,
      state: "recommended_for_award",
      outcomeDate: "2026-07-01",
      firstNames: "Augusta",
    });
    expect(recommended.body.sync.pending.map((t: { jobType: string }) => t.jobType)).toEqual(["update-trainee", "award-trainee"]);
    const corrected = await h.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: "Augusta" });
    expect(corrected.status).toBe(200);
    expect(corrected.body.sync.pending.map((t: { jobType: string }) => t.jobType)).toEqual(["update-trainee"]);
    // run the debounced update now
    const control = queueControl(h.world.queues);
    await h.waitFor("update sent", async () => {
      const update = await h.world.deps.prisma.syncTask.findFirst({
        where: { trainee: { slug: doc.slug }, kind: "update_trainee", state: { not: "succeeded" } },
      });
      if (update?.state === "queued") await control.runNow(update);
      return update === null;
    });
    expect(statuses(h, doc.slug)).not.toContain("Holds:204");
    expect((await h.trainee(doc.slug)).state).toBe("trn_received");
    const award = await h.world.deps.prisma.syncTask.findFirstOrThrow({ where: { trainee: { slug: doc.slug }, kind: "award_trainee" } });
    expect(award.state).toBe("cancelled");
  });

  it("is refused while the award is talking to TRS", async () => {
    harness = await startHarness({ startWorker: false });
    const h = harness;
    const worker = await h.startWorker();
    const doc = await inTraining(h);
    await worker.stop();
    await h.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await movePendingTasks(h.world.deps.prisma, { trainee: { slug: doc.slug }, kind: "award_trainee" }, "running");
    const whileSending = await h.api.put(doc.slug, { ...doc, state: "trn_received" });
    expect(whileSending.status).toBe(409);
    expect(whileSending.body.error).toMatch(/award is being sent to TRS right now/);
    expect((await h.trainee(doc.slug)).state).toBe("recommended_for_award");
    expect(
      (await h.world.deps.prisma.syncTask.findFirstOrThrow({ where: { trainee: { slug: doc.slug }, kind: "award_trainee" } })).state,
    ).toBe("running");
  });

  it("is refused once the award reached TRS", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = await inTraining(h);
    await h.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await h.waitFor("awarded", async () => (await h.trainee(doc.slug)).state === "awarded");
    const response = await h.api.put(doc.slug, { ...doc, state: "trn_received" });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatch(/award has reached TRS/);
  });
});

describe("discarding a trainee", () => {
  it("stops polling, cancels what was waiting, records who and why, and refuses later documents", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = traineeDoc({ lastName: "Stuck +stuck" });
    await h.api.put(doc.slug, doc);
    const poll = await h.waitFor("polling", async () =>
      h.world.deps.prisma.syncTask.findFirst({
        where: { trainee: { slug: doc.slug }, kind: "poll_trn", state: { in: ["queued", "pending"] } },
      }),
    );
    // the register job queues the poll, then records its own success: discard once it has
    await h.waitFor("the register job finished", async () =>
      h.world.deps.prisma.syncTask.findFirst({
        where: { trainee: { slug: doc.slug }, kind: "register_for_trn", state: "succeeded" },
      }),
    );
    const response = await h.api.call("DELETE", `/api/v1/trainees/${doc.slug}`, { by: "Provider X", reason: "duplicate record" });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ state: "discarded", sync: { pending: [], failed: [] } });
    expect(response.body.discardedAt).toEqual(expect.any(String));
    expect((await h.world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: poll.id } })).state).toBe("cancelled");
    // A poll waiting in BullMQ is removed; one that was talking to TRS at that moment finishes, finds its
    // task cancelled and schedules nothing: either way no poll job is left waiting.
    await h.waitFor("the poll job gone or finished", async () => {
      const job = await h.world.queues.teacherRecords.getJob(taskJobId("poll_trn", poll.id));
      if (!job) return true;
      const state = await job.getState();
      return state === "completed" || state === "failed" || state === "unknown";
    });
    expect(
      await h.world.deps.prisma.syncTask.count({
        where: { trainee: { slug: doc.slug }, state: { in: ["pending", "queued", "running", "failed"] } },
      }),
    ).toBe(0);
    const request = await h.world.deps.prisma.trnRequest.findFirstOrThrow({ where: { trainee: { slug: doc.slug } } });
    expect(request).toMatchObject({ state: "cancelled", activeTraineeId: null });
    // a poll that was talking to TRS at that moment may add its own "polling stopped" event after this one
    const discarded = (await events(h, doc.slug)).find((e) => e.kind === "trainee_discarded")!;
    expect(discarded).toBeDefined();
    expect(discarded.message).toMatch(/^discarded by Provider X: duplicate record; cancelled poll_trn #\d+; stopped polling TRN request/);

    const later = await h.api.put(doc.slug, { ...doc, lastName: "Stuck" });
    expect(later.status).toBe(409);
    expect((await h.api.call("DELETE", `/api/v1/trainees/${doc.slug}`)).status).toBe(200); // repeating it is harmless
    expect((await h.api.call("DELETE", "/api/v1/trainees/no-such-trainee")).status).toBe(404);
  });

  it("refuses an awarded trainee", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = await inTraining(h);
    await h.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await h.waitFor("awarded", async () => (await h.trainee(doc.slug)).state === "awarded");
    const response = await h.api.call("DELETE", `/api/v1/trainees/${doc.slug}`, { reason: "mistake" });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatch(/awarded trainee cannot be discarded/);
  });
});

describe("cancelling a failed job", () => {
  it("takes it out of the trainee's line with the reason on the timeline, and the work behind it runs", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = await inTraining(h);
    const invalid = { title: "One or more validation errors occurred.", status: 400, errors: { trainingStartDate: ["Invalid."] } };
    h.sandbox.injectFault({ method: "PUT", path: "routes-to-professional-statuses", status: 400, body: invalid, times: 1 });
    await h.api.put(doc.slug, { ...doc, ittEndDate: "2027-06-30" });
    const failed = await h.waitFor("update failed", async () => (await h.trainee(doc.slug)).sync.failed[0]);
    await h.api.put(doc.slug, { ...doc, ittEndDate: "2027-06-30", state: "withdrawn", withdrawDate: "2026-10-01" });
    const waiting = await h.trainee(doc.slug);
    expect(waiting.sync.pending).toEqual([
      expect.objectContaining({ jobType: "withdraw-trainee", waitingFor: expect.objectContaining({ state: "failed" }) }),
    ]);

    const path = `/api/v1/trainees/${doc.slug}/tasks/${failed.taskId}/cancel`;
    expect((await h.api.call("POST", path, {})).status).toBe(400); // a reason is required
    const cancelled = await h.api.call("POST", path, { reason: "the provider sends a corrected end date", by: "support: Sam" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      cancelled: { jobType: "update-trainee", state: "cancelled" },
      next: { jobType: "withdraw-trainee" },
    });
    expect((await h.api.call("POST", path, { reason: "again" })).status).toBe(409); // no longer failed

    await settled(h, doc.slug);
    expect(statuses(h, doc.slug).at(-1)).toBe("Withdrawn:204");
    const timeline = await events(h, doc.slug);
    expect(timeline.find((e) => e.kind === "update_trainee_cancelled")?.message).toMatch(
      /^support: Sam cancelled update_trainee #\d+ \(validation_failed\): the provider sends a corrected end date; next: withdraw_trainee/,
    );
  });

  it("a failed job removed in Bull Board stays visible as failed, and can be retried", async () => {
    harness = await startHarness();
    const h = harness;
    const doc = await inTraining(h);
    h.sandbox.injectFault({
      method: "PUT",
      path: "routes-to-professional-statuses",
      status: 400,
      body: { title: "Bad", status: 400, errors: { x: ["y"] } },
      times: 1,
    });
    await h.api.put(doc.slug, { ...doc, ittEndDate: "2027-06-30" });
    const failed = await h.waitFor("update failed", async () => (await h.trainee(doc.slug)).sync.failed[0]);
    // trs-sync records the failure before BullMQ moves the job to failed: remove it once BullMQ has
    const jobId = taskJobId("update_trainee", BigInt(failed.taskId));
    await h.waitFor("the job failed in BullMQ", async () => (await h.world.queues.teacherRecords.getJobState(jobId)) === "failed");
    expect(await h.world.queues.teacherRecords.remove(jobId)).toBe(1);
    await reconcileOnce(h.world.deps, { graceMs: 0 });
    expect((await h.trainee(doc.slug)).sync.failed).toEqual([
      expect.objectContaining({ taskId: failed.taskId, errorClass: "validation_failed" }),
    ]);
    await retryTask({ db: h.world.deps.prisma, taskId: BigInt(failed.taskId), now: new Date(), actor: "test" });
    const t = await settled(h, doc.slug);
    expect(t.sync.failed).toEqual([]);
  });
});
