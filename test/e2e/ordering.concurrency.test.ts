/**
 * Per-trainee serial execution across worker processes, coalescing of quick edits, and no lost
 * change while a job runs. The two workers here are real `worker` processes (src/main-worker.ts).
 */
import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { spawnWorker as spawnWorkerProcess } from "../support/worker-process.js";
import { traineeDoc } from "../support/documents.js";
import { stopChildren } from "../support/children.js";
import { queueControl } from "../../src/jobs/enqueue.js";

let harness: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await stopChildren(children.splice(0));
  await harness?.stop();
  harness = undefined;
});

const SLOW_MS = 150;

async function spawnWorker(h: Harness): Promise<ChildProcess> {
  const child = await spawnWorkerProcess(h);
  children.push(child);
  return child;
}

describe("two worker processes", () => {
  it("never let two jobs of one trainee talk to the API at once, and keep the order", async () => {
    harness = await startHarness({ startWorker: false, sandbox: { slowMs: SLOW_MS } });
    await spawnWorker(harness);
    await spawnWorker(harness);
    const docs = Array.from({ length: 4 }, (_, i) => traineeDoc({ lastName: `Busy${i} +slow +legacy` }));
    for (const doc of docs) await harness.api.put(doc.slug, doc);
    const withTrn = await Promise.all(
      docs.map((doc) =>
        harness!.waitFor("TRN", async () => (await harness!.trainee(doc.slug)).trn, 30_000).then((trn) => ({ ...doc, trn })),
      ),
    );
    // a burst of changes on every trainee
    for (const doc of withTrn) {
      await harness.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: "One" });
      await harness.api.put(doc.slug, { ...doc, state: "deferred", firstNames: "One" });
      await harness.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: "Two" });
      await harness.api.put(doc.slug, { ...doc, state: "recommended_for_award", firstNames: "Two", outcomeDate: "2026-07-01" });
    }
    for (const doc of withTrn) {
      await harness.waitFor(`${doc.slug} awarded`, async () => (await harness!.trainee(doc.slug)).state === "awarded", 60_000);
    }
    for (const doc of withTrn) {
      const calls = harness.sandbox.requestLog().filter((r) => r.path.includes(doc.trn!) || r.path.includes(doc.slug));
      const starts = calls.map((r) => Date.parse(r.at));
      for (let i = 1; i < starts.length; i++) {
        // every call takes SLOW_MS: a later one starting sooner would have overlapped
        expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(SLOW_MS - 5);
      }
      const statuses = calls
        .filter((r) => r.path.includes("routes-to-professional-statuses"))
        .map((r) => (r.body as { status: string }).status);
      expect(statuses[statuses.length - 1]).toBe("Holds");
      expect(statuses.filter((s) => s === "Holds")).toHaveLength(1);
      // whether the deferral was sent depends on timing (a reinstatement that comes before the
      // update runs is coalesced into it); the latest details always reach TRS before the award
      const names = calls.filter((r) => r.path === `/v3/persons/${doc.trn}`).map((r) => (r.body as { firstName: string }).firstName);
      expect(names[names.length - 1]).toBe("Two");
      expect(statuses[statuses.length - 2]).toBe("InTraining");
    }
  }, 120_000);
});

describe("a worker killed mid-job", () => {
  it("loses nothing: another worker finishes the job once the lock expires, with no overlap", async () => {
    harness = await startHarness({ startWorker: false, sandbox: { slowMs: 800 } });
    const first = await spawnWorker(harness);
    const doc = traineeDoc({ lastName: "Killed +slow" });
    await harness.api.put(doc.slug, doc);
    const trn = await harness.waitFor("TRN", async () => (await harness!.trainee(doc.slug)).trn, 30_000);
    await harness.waitFor("settled", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0, 30_000);
    const before = harness.sandbox.requestLog().length;
    await harness.api.put(doc.slug, { ...doc, state: "withdrawn", trn, withdrawDate: "2026-10-01" });
    await harness.waitFor("withdrawal in flight", async () => harness!.sandbox.requestLog().length > before);
    first.kill("SIGKILL");
    await spawnWorker(harness);
    await harness.waitFor("withdrawal done", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0, 30_000);
    const t = await harness.trainee(doc.slug);
    expect(t.sync.failed).toEqual([]);
    const calls = harness.sandbox.requestLog().slice(before);
    // the killed worker's call was cut off (status 0 in the sandbox log); the next worker sent it
    // again once the lock expired: the PUT is an idempotent upsert, so that is safe
    expect(calls.map((r) => r.status)).toEqual([0, 204]);
    expect(calls.every((r) => r.path.endsWith(`/routes-to-professional-statuses/${doc.slug}`))).toBe(true);
    expect((calls[1]!.body as { status: string }).status).toBe("Withdrawn");
    expect(Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at)).toBeGreaterThanOrEqual(800);
    const timeline = (await harness.api.timeline(doc.slug)).body.events.map((e: { kind: string }) => e.kind);
    expect(timeline).toContain("withdraw_sent");
  }, 60_000);
});

describe("edits", () => {
  it("several quick edits become one update carrying the latest data", async () => {
    // a debounce far longer than the edits take, however busy the machine; then the update is run now
    harness = await startHarness({ env: { UPDATE_DEBOUNCE: "1h" } });
    const doc = traineeDoc({ lastName: "Lovelace +legacy" });
    await harness.api.put(doc.slug, doc);
    const trn = await harness.waitFor("TRN", async () => (await harness!.trainee(doc.slug)).trn);
    // the update that follows the TRN waits for the debounce too: run it now
    const control = queueControl(harness.world.queues);
    const runUpdateNow = () =>
      harness!.waitFor("updates done", async () => {
        const waiting = await harness!.world.deps.prisma.syncTask.findMany({
          where: { kind: "update_trainee", state: { in: ["pending", "queued", "running"] } },
        });
        for (const task of waiting) if (task.state === "queued") await control.runNow(task);
        return waiting.length === 0;
      });
    await runUpdateNow();
    const before = harness.sandbox.requestLog().length;
    for (const name of ["A", "B", "C", "D", "E"]) await harness.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: name });
    expect(
      await harness.world.deps.prisma.syncTask.count({ where: { kind: "update_trainee", state: { in: ["pending", "queued"] } } }),
    ).toBe(1);
    await runUpdateNow();
    const personCalls = harness.sandbox
      .requestLog()
      .slice(before)
      .filter((r) => r.path === `/v3/persons/${trn}`);
    expect(personCalls.map((r) => (r.body as { firstName: string }).firstName)).toEqual(["E"]);
  });

  it("an edit that arrives while the update runs is sent after it", async () => {
    harness = await startHarness({ sandbox: { slowMs: 400 } });
    const doc = traineeDoc({ lastName: "Slow +slow +legacy" });
    await harness.api.put(doc.slug, doc);
    const trn = await harness.waitFor("TRN", async () => (await harness!.trainee(doc.slug)).trn, 30_000);
    await harness.waitFor("settled", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0, 30_000);
    const before = harness.sandbox.requestLog().length;
    await harness.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: "First" });
    // wait until the update is talking to the API, then change the trainee again
    await harness.waitFor("update in flight", async () =>
      harness!.sandbox
        .requestLog()
        .slice(before)
        .some((r) => r.path === `/v3/persons/${trn}`),
    );
    await harness.api.put(doc.slug, { ...doc, state: "trn_received", trn, firstNames: "Second" });
    await harness.waitFor("settled", async () => (await harness!.trainee(doc.slug)).sync.pending.length === 0, 30_000);
    const names = harness.sandbox
      .requestLog()
      .slice(before)
      .filter((r) => r.path === `/v3/persons/${trn}`)
      .map((r) => (r.body as { firstName: string }).firstName);
    expect(names).toEqual(["First", "Second"]);
  });
});
