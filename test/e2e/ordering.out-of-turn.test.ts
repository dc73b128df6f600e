/**
 * Jobs that start out of turn, and TRS's rate limit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { dispatchOnce } from "../../src/jobs/dispatcher.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { movePendingTasks } from "../support/tasks.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function seededTrainee(h: Harness) {
  const doc = traineeDoc({ lastName: "Lovelace +legacy" });
  await h.api.put(doc.slug, doc);
  const trn = await h.waitFor("TRN", async () => (await h.trainee(doc.slug)).trn);
  await h.waitFor("settled", async () => (await h.trainee(doc.slug)).sync.pending.length === 0);
  return { ...doc, trn };
}

describe("a job that starts out of turn", () => {
  it("an award already in BullMQ waits for an update that arrived after it, which TRS gets first", async () => {
    harness = await startHarness({ startWorker: false });
    const worker = await harness.startWorker();
    const doc = await seededTrainee(harness);
    await worker.stop();
    const { prisma } = harness.world.deps;

    // recommended: update + award; the update is done, the award is handed to BullMQ …
    await harness.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01" });
    await movePendingTasks(prisma, { kind: "update_trainee" }, "succeeded");
    await dispatchOnce(harness.world.deps, harness.world.queues);
    const award = await prisma.syncTask.findFirstOrThrow({ where: { kind: "award_trainee" } });
    expect(award.state).toBe("queued");
    // … and before any worker runs it, upstream corrects the trainee's name
    await harness.api.put(doc.slug, { ...doc, state: "recommended_for_award", outcomeDate: "2026-07-01", lastName: "Corrected" });
    const before = harness.sandbox.requestLog().length;

    await harness.startWorker();
    await harness.waitFor("awarded", async () => (await harness!.trainee(doc.slug)).state === "awarded");
    const calls = harness.sandbox
      .requestLog()
      .slice(before)
      .map((r) =>
        r.path.includes("routes-to")
          ? `route:${(r.body as { status: string }).status}`
          : `person:${(r.body as { lastName: string }).lastName}`,
      );
    expect(calls).toEqual(["person:Corrected", "route:Holds"]);
    const timeline = (await harness.api.timeline(doc.slug)).body.events.map((e: { kind: string }) => e.kind);
    expect(timeline.slice(-3)).toEqual(["update_sent", "award_sent", "trainee_awarded"]);
    // the award job did start first (it was in BullMQ before the update), and stood aside
    expect(timeline).toContain("award_trainee_waiting");
  });
});

describe("TRS's rate limit", () => {
  it("pauses the queue for Retry-After without using an attempt, then carries on", async () => {
    harness = await startHarness();
    const doc = await seededTrainee(harness);
    harness.sandbox.injectFault({
      path: `^/v3/persons/${doc.trn}$`,
      status: 429,
      body: { title: "API calls quota exceeded", detail: "A maximum of 1000 calls per 60 seconds are permitted.", status: 429 },
      headers: { "Retry-After": "1" },
      times: 2,
    });
    const before = harness.sandbox.requestLog().length;
    await harness.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: "Limited" });
    await harness.waitFor("update sent", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0, 20_000);
    const calls = harness.sandbox.requestLog().slice(before);
    expect(calls.map((r) => r.status)).toEqual([429, 429, 204]);
    // Retry-After: 1 second between the attempts
    expect(Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at)).toBeGreaterThanOrEqual(900);
    const task = await harness.world.deps.prisma.syncTask.findFirstOrThrow({ where: { kind: "update_trainee" }, orderBy: { id: "desc" } });
    expect(task.state).toBe("succeeded");
    const events = (await harness.api.timeline(doc.slug)).body.events.filter(
      (e: { errorClass: string | null }) => e.errorClass === "rate_limited",
    );
    expect(events).toHaveLength(2);
  });
});
