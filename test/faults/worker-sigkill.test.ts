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

/**
 * Kills the worker once a matching call is at the sandbox. Returns how many such calls were at the
 * sandbox, and how many person updates were running (claimed, their outcome not yet recorded) when
 * it died: read after its exit, with no other worker running, so nothing changes them meanwhile.
 * A running update may send its call again after the takeover, whether or not TRS's answer had
 * reached the worker before the kill.
 */
async function killMidCall(child: ChildProcess, path: RegExp, method: string): Promise<{ calls: number; updatesRunning: number }> {
  // the sandbox logs a request when it arrives, with status 0 until it answers
  await h.waitFor(
    `a ${method} in flight`,
    async () => h.sandbox.requestLog().some((r) => r.method === method && path.test(r.path) && r.status === 0),
    60_000,
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  const calls = h.sandbox.requestLog().filter((r) => r.method === method && path.test(r.path) && r.status === 0).length;
  const updatesRunning = await h.world.deps.prisma.syncTask.count({ where: { kind: "update_trainee", state: "running" } });
  return { calls, updatesRunning };
}

describe("a worker killed with SIGKILL mid-job", () => {
  it("loses nothing and sends each change once when another worker takes over", async () => {
    const count = 12;
    const docs = Array.from({ length: count }, () => traineeDoc({ lastName: "Lovelace +slow +legacy" }));
    const first = await startWorker();
    for (const doc of docs) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const firstKill = await killMidCall(first, /^\/v3\/trn-requests$/, "POST");
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
    const secondKill = await killMidCall(second, /^\/v3\/persons\//, "PUT");
    await startWorker();
    for (const doc of docs)
      await h.waitFor(`${doc.slug} synced`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 120_000);

    const audit = await auditSync(
      h,
      docs.map((doc, i) => ({ slug: doc.slug, trn: trns[i]!, edits: ["Ada", `Edited${i}`] })),
    );
    // only an update running at a kill may send its call again
    expect(audit.resent).toBeLessThanOrEqual(firstKill.updatesRunning + secondKill.updatesRunning);
    console.log(
      `worker SIGKILL: ${count} trainees, killed with ${firstKill.calls} TRN requests then ${secondKill.calls} person PUTs in flight ` +
        `(${firstKill.updatesRunning} and ${secondKill.updatesRunning} person updates running); ` +
        `${audit.trnPosts} TRN request POSTs, ${audit.personPuts} person PUTs accepted (${audit.resent} sent again after the kill)`,
    );
  });
});
