/**
 * The append-only tables (timeline, audit log) refuse TRUNCATE, which row triggers never see, and
 * `npm run migrate` brings a database migrated before the guard existed up to date.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/db/migrations.js";
import { recordAudit } from "../../src/audit.js";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { createTestWorld, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
  const doc = traineeDocumentSchema.parse(traineeDoc());
  await acceptTraineeDocument({ prisma: world.deps.prisma, doc, now: new Date(), trnPoll: world.config.trnPoll, updateDebounceMs: 0 });
  await recordAudit(world.deps.prisma, { actor: "ann", action: "retry", targets: [], result: "ok" });
});
afterAll(() => world.cleanup());

/** A plain connection, as someone at psql would have. */
async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: world.config.databaseUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const counts = async () => ({
  events: await world.deps.prisma.syncEvent.count(),
  audit: await world.deps.prisma.auditEntry.count(),
});

describe("append-only tables", () => {
  it("refuse TRUNCATE, directly, by cascade and inside the retention job's setting", async () => {
    const before = await counts();
    expect(before.events).toBeGreaterThan(0);
    expect(before.audit).toBeGreaterThan(0);
    await expect(sql(`TRUNCATE sync_events`)).rejects.toThrow(/sync_events is append-only: it is never truncated/);
    await expect(sql(`TRUNCATE audit_log`)).rejects.toThrow(/audit_log is append-only: it is never truncated/);
    await expect(sql(`TRUNCATE trainees CASCADE`)).rejects.toThrow(/append-only: it is never truncated/);
    await expect(sql(`BEGIN; SET LOCAL trs_sync.retention = 'on'; TRUNCATE sync_events; COMMIT`)).rejects.toThrow(/never truncated/);
    await expect(world.deps.prisma.$executeRawUnsafe(`TRUNCATE audit_log, sync_events`)).rejects.toThrow(/never truncated/);
    expect(await counts()).toEqual(before);
    expect(await world.deps.prisma.trainee.count()).toBe(1);
  });

  it("are guarded again by `npm run migrate` on a database migrated before the guard", async () => {
    await sql(`DROP TRIGGER sync_events_no_truncate ON sync_events; DROP TRIGGER audit_log_no_truncate ON audit_log`);
    await applyMigrations({ databaseUrl: world.config.databaseUrl });
    await expect(sql(`TRUNCATE sync_events`)).rejects.toThrow(/never truncated/);
    await expect(sql(`TRUNCATE audit_log`)).rejects.toThrow(/never truncated/);
  });
});
