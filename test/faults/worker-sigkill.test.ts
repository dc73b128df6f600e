/**
 * Fault suite, case 2: a worker process killed with SIGKILL mid-job, twice (while TRN requests are
 * in flight, then while person updates are), each time with every call to the sandbox slowed, and
 * another worker started in its place. Every trainee gets one TRN from one TRN request id, and
 * every change reaches TRS once, in order, with TRS's record ending equal to the last document.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopChildren } from "../support/children.js";
import { startHarness, type Harness } from "../support/harness.js";
import { spawnWorker } from "../support/worker-process.js";
import { traineeDoc } from "../support/documents.js";
import { auditSync } from "./sync-audit.js";

let h: Harness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // +slow: every call for these persons waits 1.5 s at the sandbox, so a kill lands mid-call
  h = await startHarness({ startWorker: false, sandbox: { slowMs: 1_500, pendingCompletesAfterMs: 300 } });
}, 120_000);
afterAll(async () => {
  await stopChildren(children);
  await h?.stop();
});

async function startWorker(): Promise<ChildProcess> {
  const child = await spawnWorker(h, { JOB_LOCK_DURATION: "2s" });
  children.push(child);
  return child;
}

async function killMidCall(child: ChildProcess, path: RegExp, method: string): Promise<number> {
  // the sandbox logs a request when it arrives, with status 0 until it answers
  const inFlight = await h.waitFor(
    `a ${method} in flight`,
    async () => {
      const n = h.sandbox.requestLog().filter((r) => r.method === method && path.test(r.path) && r.status === 0).length;
      return n > 0 ? n : null;
    },
    60_000,
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return inFlight;
}

describe("a worker killed with SIGKILL mid-job", () => {
  it("loses nothing and sends each change once when another worker takes over", async () => {
    const count = 12;
    const docs = Array.from({ length: count }, () => traineeDoc({ lastName: "Lovelace +slow +legacy" }));
    const first = await startWorker();
    for (const doc of docs) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const trnPostsInFlight = await killMidCall(first, /^\/v3\/trn-requests$/, "POST");
    const second = await startWorker();

    const trns = await Promise.all(
      docs.map((doc) => h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn, 120_000) as Promise<string>),
    );
    for (const doc of docs)
      await h.waitFor(`${doc.slug} settled`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 60_000);

    // one change each, and the worker killed while the person updates are at TRS
    for (const [i, doc] of docs.entries()) {
      expect((await h.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: `Edited${i}` })).status).toBe(200);
    }
    const personPutsInFlight = await killMidCall(second, /^\/v3\/persons\//, "PUT");
    await startWorker();
    for (const doc of docs)
      await h.waitFor(`${doc.slug} synced`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 120_000);

    const audit = await auditSync(
      h,
      docs.map((doc, i) => ({ slug: doc.slug, trn: trns[i]!, edits: ["Ada", `Edited${i}`] })),
    );
    // only a call in flight at a kill may be sent again
    expect(audit.resent).toBeLessThanOrEqual(personPutsInFlight);
    console.log(
      `worker SIGKILL: ${count} trainees, killed with ${trnPostsInFlight} TRN requests then ${personPutsInFlight} person PUTs in flight; ` +
        `${audit.trnPosts} TRN request POSTs, ${audit.personPuts} person PUTs accepted (${audit.resent} sent again after the kill)`,
    );
  });
});
