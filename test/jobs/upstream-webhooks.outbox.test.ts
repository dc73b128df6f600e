/**
 * The triggers that record events for the upstream application (prisma/functions.sql): one row per
 * fact, in the fact's transaction, whichever process writes it, as long as the worker (the sender)
 * turned them on (upstream_webhook_settings); never while it has not, or turned them off.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { recordUpstreamWebhookSetting } from "../../src/jobs/upstream-webhooks.js";
import { createTestWorld, testConfig, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let configured: TestWorld;
let plain: TestWorld;
/** a web process of the configured world's database whose own configuration has no UPSTREAM_WEBHOOK_URL */
let web: Deps;

beforeAll(async () => {
  configured = await createTestWorld({
    env: { UPSTREAM_WEBHOOK_URL: "http://127.0.0.1:9/events", UPSTREAM_WEBHOOK_SECRET: "a-secret-of-16-chars" },
  });
  plain = await createTestWorld();
  // what the worker does at start: the sender's setting decides for every process
  expect(await recordUpstreamWebhookSetting(configured.deps)).toBe(true);
  expect(await recordUpstreamWebhookSetting(plain.deps)).toBe(false);
  const webConfig = testConfig({ DATABASE_URL: configured.config.databaseUrl, REDIS_PREFIX: configured.config.redisPrefix });
  expect(webConfig.upstreamWebhooks).toBeNull();
  web = createDeps(webConfig);
});

afterAll(async () => {
  await web?.close();
  await configured?.cleanup();
  await plain?.cleanup();
});

async function draft(world: { deps: Pick<Deps, "prisma">; config: Pick<TestWorld["config"], "trnPoll"> }) {
  const doc = traineeDocumentSchema.parse(traineeDoc({ state: "draft" }));
  const accepted = await acceptTraineeDocument({
    prisma: world.deps.prisma,
    doc,
    now: new Date(),
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 0,
  });
  if (accepted.status === 409) throw new Error("refused");
  return accepted.trainee;
}

describe("recording events for the upstream application", () => {
  it("writes one row when the TRN is stored, none when that transaction rolls back", async () => {
    const prisma = configured.deps.prisma;
    const trainee = await draft(configured);
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.trainee.update({ where: { id: trainee.id }, data: { trn: "7654321" } });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await prisma.upstreamWebhook.count({ where: { traineeId: trainee.id } })).toBe(0);
    await prisma.trainee.update({ where: { id: trainee.id }, data: { trn: "7654321" } });
    // the same TRN again, and another column changing: no second event
    await prisma.trainee.update({ where: { id: trainee.id }, data: { trn: "7654321", firstNames: "Augusta" } });
    const rows = await prisma.upstreamWebhook.findMany({ where: { traineeId: trainee.id } });
    expect(rows).toEqual([
      expect.objectContaining({
        type: "trn.received",
        traineeSlug: trainee.slug,
        state: "pending",
        payload: { slug: trainee.slug, trn: "7654321" },
      }),
    ]);
  });

  it("records facts written by a process without UPSTREAM_WEBHOOK_URL while the sender's setting is on", async () => {
    const trainee = await draft({ deps: web, config: configured.config });
    await web.prisma.trainee.update({ where: { id: trainee.id }, data: { trn: "7654323" } });
    expect(await configured.deps.prisma.upstreamWebhook.findMany({ where: { traineeId: trainee.id } })).toEqual([
      expect.objectContaining({ type: "trn.received", payload: { slug: trainee.slug, trn: "7654323" } }),
    ]);
  });

  it("records a cancel written on a plain connection (the CLI, or through PgBouncer) while the setting is on", async () => {
    const trainee = await draft(configured);
    const task = await configured.deps.prisma.syncTask.create({
      data: { traineeId: trainee.id, kind: "update_trainee", phase: 1, state: "failed", errorClass: "validation" },
    });
    const client = new pg.Client({ connectionString: configured.config.databaseUrl });
    await client.connect();
    try {
      await client.query("UPDATE sync_tasks SET state = 'cancelled' WHERE id = $1", [task.id.toString()]);
    } finally {
      await client.end();
    }
    const rows = await configured.deps.prisma.upstreamWebhook.findMany({ where: { traineeId: trainee.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.type, r.payload])).toEqual([
      ["sync.recovered", { slug: trainee.slug, taskId: task.id.toString(), jobType: "update-trainee", resolution: "cancelled" }],
    ]);
  });

  it("records nothing, from any process, while the sender's setting is off or was never written", async () => {
    // never written (no worker has started on this database yet)
    await plain.deps.prisma.upstreamWebhookSetting.deleteMany();
    const unset = await draft(plain);
    await plain.deps.prisma.trainee.update({ where: { id: unset.id }, data: { trn: "7654322" } });
    expect(await plain.deps.prisma.upstreamWebhook.count()).toBe(0);
    // written off by a worker without UPSTREAM_WEBHOOK_URL, even for a process that has it
    await recordUpstreamWebhookSetting(plain.deps);
    const trainee = await draft(plain);
    const configuredClient = createDeps(
      testConfig({
        DATABASE_URL: plain.config.databaseUrl,
        REDIS_PREFIX: plain.config.redisPrefix,
        UPSTREAM_WEBHOOK_URL: "http://127.0.0.1:9/events",
        UPSTREAM_WEBHOOK_SECRET: "a-secret-of-16-chars",
      }),
    );
    try {
      await configuredClient.prisma.trainee.update({ where: { id: trainee.id }, data: { trn: "7654324" } });
    } finally {
      await configuredClient.close();
    }
    expect(await plain.deps.prisma.upstreamWebhook.count()).toBe(0);
  });

  it("keeps one settings row, which the last worker to start wrote", async () => {
    await recordUpstreamWebhookSetting(configured.deps);
    await recordUpstreamWebhookSetting(configured.deps);
    expect(await configured.deps.prisma.upstreamWebhookSetting.findMany()).toEqual([expect.objectContaining({ id: true, enabled: true })]);
    await expect(
      configured.deps.prisma.$executeRaw`INSERT INTO upstream_webhook_settings (id, enabled) VALUES (false, true)`,
    ).rejects.toThrow();
  });
});
