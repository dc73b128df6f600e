/**
 * Fault suite, case 3: the teacher records API (the sandbox) gone for a while, with new trainees
 * and edits arriving meanwhile. The circuit opens, the work is held and no job fails; once TRS is
 * back every trainee gets one TRN from one TRN request id and every change reaches TRS once, in
 * order. Builds on test/e2e/circuit.outage.test.ts (its settings) with the suite's closing check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { PROBE_REQUEST_ID } from "../../src/jobs/circuit-monitor.js";
import { wrapClient } from "../support/wrap-client.js";
import { auditSync } from "./sync-audit.js";

let h: Harness;
let probes = 0;
beforeAll(async () => {
  h = await startHarness({
    wrapApi: (api) =>
      wrapClient(api, {
        getTrnRequest: (id) => {
          if (id === PROBE_REQUEST_ID) probes++;
          return api.getTrnRequest(id);
        },
      }),
    env: {
      CIRCUIT_PROBE_INTERVAL: "200ms",
      CIRCUIT_FAILURE_THRESHOLD: "3",
      JOB_RETRY_BASE_DELAY: "2s",
      API_TIMEOUT: "30s",
      WORKER_CONCURRENCY: "3",
      DATABASE_POOL_SIZE: "14",
    },
  });
  await h.startWorker(); // two workers' worth: the circuit is shared
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

const heldEvents = (kind: string) => h.world.deps.prisma.syncEvent.count({ where: { kind } });

describe("the teacher records API down for a while", () => {
  it("opens the circuit, fails no job, and sends every change once when it is back", async () => {
    const before = Array.from({ length: 6 }, (_, i) => traineeDoc({ lastName: `Before${i} +legacy` }));
    for (const doc of before) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const trns = new Map<string, string>();
    for (const doc of before) trns.set(doc.slug, await h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn, 60_000));
    for (const doc of before)
      await h.waitFor(`${doc.slug} settled`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 60_000);

    const port = Number(new URL(h.world.config.api.baseUrl).port);
    await h.sandbox.close(); // connections refused
    const during = Array.from({ length: 6 }, (_, i) => traineeDoc({ lastName: `During${i} +legacy` }));
    for (const doc of during) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    for (const [i, doc] of before.entries()) {
      expect((await h.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: `Outage${i}` })).status).toBe(200);
    }
    await h.waitFor("the circuit open", async () => (await h.world.deps.circuit.read()).open);
    // work that met the open circuit is held, not failed; the rest waits in the paused queue
    await h.waitFor(
      "work held",
      async () => (await heldEvents("register_for_trn_held")) + (await heldEvents("update_trainee_held")) > 0,
      30_000,
    );
    // an outage that lasts: the API is probed again and again, and nothing gives up meanwhile
    const probesAtOpening = probes;
    await h.waitFor("five failed probes", async () => probes >= probesAtOpening + 5, 30_000);
    expect(await h.world.queues.teacherRecords.isPaused()).toBe(true);
    expect(await h.world.queues.teacherRecords.getFailedCount()).toBe(0);
    expect(await h.world.deps.prisma.syncTask.count({ where: { state: "failed" } })).toBe(0);
    const held = { register: await heldEvents("register_for_trn_held"), update: await heldEvents("update_trainee_held") };

    await h.sandbox.listen(port); // TRS is back
    for (const doc of during) trns.set(doc.slug, await h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn, 60_000));
    for (const doc of [...before, ...during]) {
      await h.waitFor(`${doc.slug} synced`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 60_000);
    }
    await h.waitFor("the circuit closed", async () => !(await h.world.deps.circuit.read()).open);
    expect(await h.world.queues.teacherRecords.getFailedCount()).toBe(0);

    const audit = await auditSync(h, [
      ...before.map((doc, i) => ({ slug: doc.slug, trn: trns.get(doc.slug)!, edits: ["Ada", `Outage${i}`] })),
      ...during.map((doc) => ({ slug: doc.slug, trn: trns.get(doc.slug)!, edits: ["Ada"] })),
    ]);
    expect(audit.resent).toBe(0);
    console.log(
      `TRS outage: ${before.length} trainees edited and ${during.length} created while it was down; held ${held.register} registrations ` +
        `and ${held.update} updates, ${probes - probesAtOpening} failed probes; ${audit.trnPosts} TRN request POSTs, ${audit.personPuts} person PUTs, none sent again, no job failed`,
    );
  });
});
