/**
 * CONTRACT.md §1: on SIGTERM a process stops taking work, finishes what is in flight and exits
 * within 30 s.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { spawnWorker } from "../support/worker-process.js";
import { traineeDoc } from "../support/documents.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe("worker on SIGTERM", () => {
  it("finishes the job in flight, takes no new one, and exits 0 well within 30 s", async () => {
    harness = await startHarness({ startWorker: false, sandbox: { slowMs: 1_500 } });
    const worker = await spawnWorker(harness);
    const doc = traineeDoc({ lastName: "Slow +slow" });
    await harness.api.put(doc.slug, doc);
    await harness.waitFor("TRN request in flight", async () => harness!.sandbox.requestLog().length === 1);
    const exited = new Promise<number | null>((resolve) => worker.once("exit", (code) => resolve(code)));
    const signalledAt = Date.now();
    worker.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    // the TRN request in flight was finished and recorded …
    const trainee = await harness.trainee(doc.slug);
    expect(trainee.trn).toMatch(/^\d{7}$/);
    // … and the update it queued was not started by the stopping worker
    expect(harness.sandbox.requestLog()).toHaveLength(1);
    expect(trainee.sync.pending.map((p) => p.jobType)).toEqual(["update-trainee"]);
  }, 40_000);
});
