/**
 * Fault suite, case 5: Postgres (a throwaway cluster of this file's own) stopped with `-m immediate`
 * while jobs are at the sandbox, and started again. A document PUT meanwhile is answered 503 and
 * stored when sent again. Every trainee ends with one TRN from one TRN request id and every change
 * sent once, in order; no job fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/db/migrations.js";
import { startHarness, type Harness } from "../support/harness.js";
import { traineeDoc } from "../support/documents.js";
import { createDatabase, privatePostgres, type PrivatePostgres } from "../support/private-postgres.js";
import { auditSync } from "./sync-audit.js";

let postgres: PrivatePostgres;
let h: Harness | undefined;
beforeAll(async () => {
  postgres = await privatePostgres();
  await postgres.start();
  await createDatabase(postgres, "trs_sync");
  await applyMigrations({ databaseUrl: postgres.url("trs_sync") });
  h = await startHarness({
    database: { url: postgres.url("trs_sync"), drop: async () => {} },
    env: { RECONCILE_INTERVAL: "1s" },
    sandbox: { slowMs: 800 },
  });
}, 120_000);
afterAll(async () => {
  await postgres?.start().catch(() => {}); // cleanup needs it
  await h?.stop();
  await postgres?.destroy();
});

describe("Postgres restarted mid-run", () => {
  it("loses nothing: every trainee gets its TRN and every change is sent once", async () => {
    const harness = h!;
    const docs = Array.from({ length: 10 }, (_, i) => traineeDoc({ lastName: `Pg${i} +slow +legacy` }));
    for (const doc of docs.slice(0, 9)) expect((await harness.api.put(doc.slug, doc)).status).toBe(201);
    const inFlight = await harness.waitFor(
      "TRN requests in flight",
      async () => harness.sandbox.requestLog().filter((r) => r.path === "/v3/trn-requests" && r.status === 0).length || null,
      60_000,
    );
    await postgres.stop();
    // a document while Postgres is down: 503, nothing stored, sent again later
    const late = docs[9]!;
    const refused = await harness.api.put(late.slug, late);
    expect(refused.status).toBe(503);
    await harness.waitFor("the sandbox idle", async () => harness.sandbox.requestLog().every((r) => r.status !== 0), 30_000);
    await postgres.start();
    await harness.waitFor("the document taken again", async () => (await harness.api.put(late.slug, late)).status === 201, 60_000);

    const trns = new Map<string, string>();
    for (const doc of docs)
      trns.set(doc.slug, await harness.waitFor(`${doc.slug} TRN`, async () => (await harness.trainee(doc.slug)).trn, 90_000));
    for (const doc of docs) {
      await harness.waitFor(`${doc.slug} settled`, async () => (await harness.trainee(doc.slug)).sync.pending.length === 0, 90_000);
    }
    for (const [i, doc] of docs.entries()) {
      expect((await harness.api.put(doc.slug, { ...doc, state: "trn_received", firstNames: `After${i}` })).status).toBe(200);
    }
    for (const doc of docs) {
      await harness.waitFor(`${doc.slug} synced`, async () => (await harness.trainee(doc.slug)).sync.pending.length === 0, 60_000);
    }

    const audit = await auditSync(
      harness,
      docs.map((doc, i) => ({ slug: doc.slug, trn: trns.get(doc.slug)!, edits: ["Ada", `After${i}`] })),
    );
    console.log(
      `Postgres restart: ${docs.length} trainees (${inFlight} TRN requests at the sandbox when Postgres stopped, one PUT answered 503 meanwhile); ` +
        `${audit.trnPosts} TRN request POSTs, ${audit.personPuts} person PUTs (${audit.resent} sent again), no job failed`,
    );
  });
});
