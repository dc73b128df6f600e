/**
 * Postgres statements per PUT (every pg Client#query, as bench/round-trips.ts counts them, a
 * transaction's BEGIN and COMMIT included): a new trainee and an unchanged document take one
 * (trs_sync_accept_document); a change to a stored trainee takes the general path, with no more
 * statements than before: the lean attempt is paid for by the trainee locked and read in one
 * statement and the sync state read in one. Measured with this test on main (8f4f557): 11 for a
 * new trainee submitted for a TRN, 6 unchanged, 9 for a new trainee with a TRN, 9 and 8 for the
 * two edits below.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/web/app.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;
let api: ReturnType<typeof client>;
let statements = 0;
const clientPrototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = clientPrototype.query;

beforeAll(async () => {
  world = await createTestWorld();
  server = await serve(createApp(world.deps, world.queues));
  api = client(server.url);
  clientPrototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
    statements++;
    return query.apply(this, args);
  };
});
afterAll(async () => {
  clientPrototype.query = query;
  await server.close();
  await world.cleanup();
});

async function counted(work: () => Promise<{ status: number }>, status: number): Promise<number> {
  statements = 0;
  const response = await work();
  expect(response.status).toBe(status);
  return statements;
}

describe("statements per PUT", () => {
  it("one for a new trainee and for an unchanged document; the general path's count for a change", async () => {
    const doc = traineeDoc();
    expect(await counted(() => api.put(doc.slug, doc), 201)).toBe(1);
    expect(await counted(() => api.put(doc.slug, doc), 200)).toBe(1);
    const imported = traineeDoc({ state: "trn_received", trn: String(7_000_000 + Math.floor(Math.random() * 999_999)) });
    expect(await counted(() => api.put(imported.slug, imported), 201)).toBe(1);
    // an edit that joins the update already waiting: lean attempt, BEGIN, lock and read, update,
    // look for a waiting update, event, COMMIT, the sync state
    expect(await counted(() => api.put(imported.slug, { ...imported, firstNames: "Augusta" }), 200)).toBeLessThanOrEqual(8);
    // an edit of a trainee without a TRN: nothing to sync
    expect(await counted(() => api.put(doc.slug, { ...doc, firstNames: "Augusta" }), 200)).toBeLessThanOrEqual(7);
  });
});
