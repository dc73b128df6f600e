/**
 * The daily retention job: finished history past RETENTION_PERIOD goes, what explains each
 * trainee's state stays, the timeline is otherwise as append-only as before, and a run is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncTaskKind, SyncTaskState } from "../../src/generated/prisma/client.js";
import { Queue } from "bullmq";
import { MAINTENANCE_QUEUE, RETENTION_JOB, runRetention, startRetention } from "../../src/jobs/retention.js";

import { acceptTraineeDocument } from "../../src/trainees/accept-document.js";
import { traineeDocumentSchema } from "../../src/trainees/document.js";
import { createTestWorld, eventually, type TestWorld } from "../support/context.js";
import { traineeDoc } from "../support/documents.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld({ env: { DATABASE_POOL_SIZE: "22" } });
});
afterAll(() => world.cleanup());

const day = 86_400_000;
const period = 548 * day;
const now = new Date("2026-12-01T12:00:00Z");
const ago = (days: number) => new Date(now.getTime() - days * day);

async function newTrainee(index: number) {
  // a draft: no sync work of its own; the history below is written by hand, in time order
  const doc = traineeDocumentSchema.parse(traineeDoc({ state: "draft", lastName: `Retention${index}` }));
  const accepted = await acceptTraineeDocument({
    prisma: world.deps.prisma,
    doc,
    now: ago(800),
    trnPoll: world.config.trnPoll,
    updateDebounceMs: 0,
  });
  if (accepted.status === 409) throw new Error("refused");
  return { id: accepted.trainee.id, slug: doc.slug };
}

async function task(traineeId: string, kind: SyncTaskKind, state: SyncTaskState, at: Date) {
  const phase = kind === "award_trainee" ? 2 : kind === "update_trainee" || kind === "withdraw_trainee" ? 1 : 0;
  return world.deps.prisma.syncTask.create({
    data: { traineeId, kind, phase, state, availableAt: at, createdAt: at, updatedAt: at, finishedAt: state === "failed" ? null : at },
  });
}

async function event(traineeId: string, kind: string, at: Date, taskId?: bigint) {
  return world.deps.prisma.syncEvent.create({
    data: { traineeId, kind, outcome: "info", message: kind, taskId: taskId ?? null, createdAt: at },
  });
}

describe("the retention job", () => {
  it("deletes finished work and events past the period, keeping what explains each trainee's state", async () => {
    const prisma = world.deps.prisma;
    const t = await newTrainee(1);
    // two years ago: registered, TRN received, three updates, one failed for good
    const register = await task(t.id, "register_for_trn", "succeeded", ago(760));
    const registered = await event(t.id, "trn_requested", ago(760), register.id);
    const trnReceived = await event(t.id, "trn_received", ago(759));
    const update1 = await task(t.id, "update_trainee", "succeeded", ago(740));
    const update1Event = await event(t.id, "update_sent", ago(740), update1.id);
    const failed = await task(t.id, "update_trainee", "failed", ago(700));
    const failedEvent = await event(t.id, "update_trainee_failed", ago(700), failed.id);
    const update2 = await task(t.id, "update_trainee", "succeeded", ago(650));
    const update2Event = await event(t.id, "update_sent", ago(650), update2.id);
    const oldChange = await event(t.id, "document_accepted", ago(640));
    // recent: one more update and a document
    const update3 = await task(t.id, "update_trainee", "succeeded", ago(10));
    const update3Event = await event(t.id, "update_sent", ago(10), update3.id);
    const recentChange = await event(t.id, "document_accepted", ago(9));
    // another trainee whose last update is old: it stays, being the latest of its kind
    const u = await newTrainee(2);
    const lone = await task(u.id, "update_trainee", "succeeded", ago(700));
    const loneEvent = await event(u.id, "update_sent", ago(700), lone.id);
    const cancelledOld = await task(u.id, "update_trainee", "cancelled", ago(690));

    const alertOld = await prisma.alert.create({
      data: { dedupeKey: "old", kind: "trn_timeout", text: "x", state: "sent", updatedAt: ago(600) },
    });
    const alertPending = await prisma.alert.create({ data: { dedupeKey: "pending", kind: "trn_timeout", text: "x", state: "pending" } });

    const webhook = (state: "sent" | "pending" | "failed", at: Date) =>
      prisma.upstreamWebhook.create({
        data: {
          type: "trn.received",
          traineeId: t.id,
          traineeSlug: t.slug,
          payload: {},
          state,
          createdAt: at,
          sentAt: state === "sent" ? at : null,
        },
      });
    const webhookSentOld = await webhook("sent", ago(600));
    const webhookSentRecent = await webhook("sent", ago(10));
    const webhookUnsentOld = await webhook("failed", ago(600));

    const message = (ceId: string, at: Date) =>
      prisma.trsWebhookMessage.create({ data: { ceId, type: "trn_request.completed", outcome: "settled", receivedAt: at } });
    const messageOld = await message(`old-${t.id}`, ago(600));
    const messageRecent = await message(`recent-${t.id}`, ago(10));

    const report = await runRetention({ db: prisma, now, periodMs: period });

    const tasksLeft = new Set((await prisma.syncTask.findMany({ where: { traineeId: { in: [t.id, u.id] } } })).map((x) => x.id));
    // t: update1 (old, superseded by a later finished update) goes; the failed one and the latest of each kind stay
    expect(tasksLeft.has(update1.id)).toBe(false);
    expect(tasksLeft.has(update2.id)).toBe(false);
    for (const kept of [register, failed, update3]) expect(tasksLeft.has(kept.id), `task ${kept.kind} #${kept.id}`).toBe(true);
    // u: its only update was cancelled after it: the cancelled one is the latest finished, the succeeded one goes
    expect(tasksLeft.has(cancelledOld.id)).toBe(true);
    expect(tasksLeft.has(lone.id)).toBe(false);

    const eventsLeft = new Set((await prisma.syncEvent.findMany({ where: { traineeId: { in: [t.id, u.id] } } })).map((x) => x.id));
    for (const gone of [update1Event, update2Event, oldChange])
      expect(eventsLeft.has(gone.id), `event ${gone.kind} #${gone.id}`).toBe(false);
    for (const kept of [registered, trnReceived, failedEvent, update3Event, recentChange, loneEvent]) {
      expect(eventsLeft.has(kept.id), `event ${kept.kind} #${kept.id}`).toBe(true);
    }
    expect(await prisma.alert.findUnique({ where: { id: alertOld.id } })).toBeNull();
    expect(await prisma.alert.findUnique({ where: { id: alertPending.id } })).not.toBeNull();

    const webhooksLeft = new Set((await prisma.upstreamWebhook.findMany()).map((x) => x.id));
    expect(webhooksLeft.has(webhookSentOld.id)).toBe(false);
    expect(webhooksLeft.has(webhookSentRecent.id)).toBe(true);
    expect(webhooksLeft.has(webhookUnsentOld.id)).toBe(true);

    expect(await prisma.trsWebhookMessage.findUnique({ where: { ceId: messageOld.ceId } })).toBeNull();
    expect(await prisma.trsWebhookMessage.findUnique({ where: { ceId: messageRecent.ceId } })).not.toBeNull();

    expect(report).toMatchObject({ tasks: 3, alerts: 1, upstreamWebhooks: 1, trsWebhookMessages: 1 });
    expect(report.events).toBeGreaterThanOrEqual(3);
    const audit = await prisma.auditEntry.findFirstOrThrow({ where: { action: "retention" }, orderBy: { id: "desc" } });
    expect(audit).toMatchObject({ actor: "system:retention" });
    expect(audit.result).toMatch(/^ok: deleted 3 finished tasks, \d+ timeline events, 1 alerts older than 2025-06-01T12:00:00.000Z/);

    // a second run finds nothing more to delete
    expect(await runRetention({ db: prisma, now, periodMs: period })).toMatchObject({ tasks: 0, events: 0, alerts: 0 });
  });

  it("keeps everything when RETENTION_PERIOD is off, but drops expired dashboard sessions", async () => {
    const prisma = world.deps.prisma;
    const t = await newTrainee(3);
    await event(t.id, "document_accepted", ago(2000));
    await event(t.id, "document_accepted", ago(1990));
    const before = await prisma.syncEvent.count();
    await prisma.dashboardSession.create({
      data: { tokenHash: "expired-session", userName: "sam", fingerprint: "x", csrfSecret: "y", expiresAt: ago(1) },
    });
    const report = await runRetention({ db: prisma, now, periodMs: null });
    expect(report).toMatchObject({ tasks: 0, events: 0, alerts: 0, sessions: 1 });
    expect(await prisma.syncEvent.count()).toBe(before);
  });

  it("is the only way to delete timeline rows: anything else is refused, and no row is ever updated", async () => {
    const prisma = world.deps.prisma;
    const t = await newTrainee(4);
    const old = await event(t.id, "document_accepted", ago(900));
    await expect(prisma.syncEvent.delete({ where: { id: old.id } })).rejects.toThrow(/append-only/);
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT set_config('trs_sync.retention', 'on', true)`;
        await tx.syncEvent.update({ where: { id: old.id }, data: { message: "rewritten" } });
      }),
    ).rejects.toThrow(/append-only/);
    // the setting is local to the retention job's transaction: it does not leak to the next one
    await prisma.$transaction(async (tx) => tx.$executeRaw`SELECT set_config('trs_sync.retention', 'on', true)`);
    await expect(prisma.syncEvent.delete({ where: { id: old.id } })).rejects.toThrow(/append-only/);
  });
});

describe("the retention job beside live traffic", () => {
  it("never deletes a trainee's latest event of a kind or unfinished work, and live writes never fail (200 races)", async () => {
    const prisma = world.deps.prisma;
    const trainees = await Promise.all(Array.from({ length: 10 }, (_, i) => newTrainee(100 + i)));
    for (const t of trainees) {
      for (let i = 0; i < 3; i++) {
        const old = await task(t.id, "update_trainee", "succeeded", ago(900 - i));
        await event(t.id, "update_sent", ago(900 - i), old.id);
      }
    }
    for (let round = 0; round < 200; round++) {
      const t = trainees[round % trainees.length]!;
      const [, added] = await Promise.all([
        runRetention({ db: prisma, now, periodMs: period }),
        (async () => {
          // live work for the same trainee at the same moment: a new update and its event
          const live = await task(t.id, "update_trainee", round % 2 ? "succeeded" : "pending", new Date());
          await event(t.id, "update_sent", new Date(), live.id);
          return live;
        })(),
      ]);
      expect(await prisma.syncTask.findUnique({ where: { id: added.id } })).not.toBeNull();
    }
    for (const t of trainees) {
      const events = await prisma.syncEvent.findMany({ where: { traineeId: t.id }, orderBy: { id: "asc" } });
      const kinds = new Set(events.map((e) => e.kind));
      expect(kinds).toContain("update_sent");
      // every unfinished task is still there with its events
      const pending = await prisma.syncTask.findMany({ where: { traineeId: t.id, state: "pending" } });
      for (const p of pending) expect(events.some((e) => e.taskId === p.id)).toBe(true);
      // the old history past the period is gone, but for the latest finished update while no later one finished
      const oldTasks = await prisma.syncTask.count({ where: { traineeId: t.id, createdAt: { lt: ago(548) } } });
      const laterFinished = await prisma.syncTask.count({ where: { traineeId: t.id, state: "succeeded", createdAt: { gte: ago(548) } } });
      expect(oldTasks).toBe(laterFinished ? 0 : 1);
    }
  }, 120_000);
});

describe("the retention schedule", () => {
  it("is one daily BullMQ job scheduler at 03:00 in England, whose job runs the retention", async () => {
    const started = [await startRetention(world.deps), await startRetention(world.deps)]; // two worker processes
    const queue = new Queue(MAINTENANCE_QUEUE, { connection: world.deps.redis, prefix: world.config.redisPrefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toEqual([
        expect.objectContaining({ key: "retention-daily", name: RETENTION_JOB, pattern: "0 3 * * *", tz: "Europe/London" }),
      ]);
      const before = await world.deps.prisma.auditEntry.count({ where: { action: "retention" } });
      await queue.add(RETENTION_JOB, {});
      await eventually(async () => (await world.deps.prisma.auditEntry.count({ where: { action: "retention" } })) > before, {
        what: "a retention run recorded",
      });
    } finally {
      await queue.close();
      await Promise.all(started.map((s) => s.stop()));
    }
  });
});
