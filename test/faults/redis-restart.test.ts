/**
 * Fault suite, case 4: Redis (a redis-server of this file's own, keeping nothing on disk) killed
 * while jobs are at the sandbox, and started again empty, with new trainees arriving while it is
 * down. Postgres is the source of truth: the outbox and the reconciler bring every job back, and
 * every trainee ends with one TRN from one TRN request id and every change sent once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { privateRedis, type PrivateRedis } from "../support/private-redis.js";
import { auditSync } from "./sync-audit.js";

let redis: PrivateRedis;
let h: Harness;
beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  // the reconciler runs every second here (it leaves rows younger than 10 s alone)
  h = await startHarness({ env: { REDIS_URL: redis.url, RECONCILE_INTERVAL: "1s" }, sandbox: { slowMs: 800 } });
}, 120_000);
afterAll(async () => {
  await redis.start().catch(() => {}); // cleanup needs it
  await h?.stop();
  await redis.stop();
});

describe("Redis restarted mid-run, empty", () => {
  it("loses nothing: every trainee gets its TRN and every change is sent once", async () => {
    const first = Array.from({ length: 10 }, (_, i) => traineeDoc({ lastName: `First${i} +slow +legacy` }));
    for (const doc of first) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    const inFlight = await h.waitFor(
      "TRN requests in flight",
      async () => h.sandbox.requestLog().filter((r) => r.path === "/v3/trn-requests" && r.status === 0).length || null,
      60_000,
    );
    await redis.stop(); // SIGKILL: every job, lock and the rate-limit window gone
    const whileDown = Array.from({ length: 4 }, (_, i) => traineeDoc({ lastName: `WhileDown${i} +legacy` }));
    for (const doc of whileDown) expect((await h.api.put(doc.slug, doc)).status).toBe(201);
    // the calls that were at the sandbox finish against a Redis that is not there
    await h.waitFor("the sandbox idle", async () => h.sandbox.requestLog().every((r) => r.status !== 0), 30_000);
    await redis.start();

    const docs = [...first, ...whileDown];
    const trns = new Map<string, string>();
    for (const doc of docs) trns.set(doc.slug, await h.waitFor(`${doc.slug} TRN`, async () => (await h.trainee(doc.slug)).trn, 90_000));
    for (const doc of docs)
      await h.waitFor(`${doc.slug} settled`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 90_000);
    for (const [i, doc] of docs.entries()) {
      expect((await h.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: `After${i}` })).status).toBe(200);
    }
    for (const doc of docs)
      await h.waitFor(`${doc.slug} synced`, async () => (await h.trainee(doc.slug)).sync.pending.length === 0, 60_000);

    const audit = await auditSync(
      h,
      docs.map((doc, i) => ({ slug: doc.slug, trn: trns.get(doc.slug)!, edits: ["Ada", `After${i}`] })),
    );
    console.log(
      `Redis restart: ${first.length} trainees (${inFlight} TRN requests at the sandbox when Redis died), ${whileDown.length} created while it was down; ` +
        `${audit.trnPosts} TRN request POSTs, ${audit.personPuts} person PUTs (${audit.resent} sent again), no job failed`,
    );
  });
});
