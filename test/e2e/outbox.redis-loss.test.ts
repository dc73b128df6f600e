/**
 * The outbox keeps every change when Redis is down or wiped, and never creates a job twice.
 * These tests use a redis-server of their own, so stopping or flushing it harms no other test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createDeps } from "../../src/deps.js";
import { createQueues } from "../../src/jobs/queues.js";
import { dispatchOnce, startDispatcher } from "../../src/jobs/dispatcher.js";
import { reconcileOnce } from "../../src/jobs/reconciler.js";
import { createApp } from "../../src/web/app.js";
import { createLogger } from "../../src/logger.js";
import { createTestWorld, eventually, type TestWorld } from "../support/context.js";
import { client, serve } from "../support/http.js";
import { traineeDoc } from "../support/documents.js";
import { privateRedis, type PrivateRedis } from "../support/private-redis.js";

let redis: PrivateRedis;
let world: TestWorld;
let server: Awaited<ReturnType<typeof serve>>;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  world = await createTestWorld({ env: { REDIS_URL: redis.url } });
  server = await serve(createApp(world.deps, world.queues));
  api = client(server.url);
});
afterAll(async () => {
  await server.close();
  await redis.start().catch(() => {}); // cleanup needs it
  await world.cleanup();
  await redis.stop();
});

async function jobIdsInRedis(): Promise<string[]> {
  const jobs = await world.queues.teacherRecords.getJobs(["waiting", "delayed", "active", "prioritized"]);
  return jobs.map((j) => j.id!).sort();
}

describe("the outbox and Redis", () => {
  it("accepts changes while Redis is down; the job appears once Redis is back", async () => {
    const dispatcher = await startDispatcher(world.deps, world.queues);
    try {
      await redis.stop();
      const doc = traineeDoc();
      const response = await api.put(doc.slug, doc);
      expect(response.status).toBe(201);
      const trainee = await world.deps.prisma.trainee.findUniqueOrThrow({ where: { slug: doc.slug } });
      const task = await world.deps.prisma.syncTask.findFirstOrThrow({ where: { traineeId: trainee.id } });
      // the dispatcher tries, fails, and keeps the row pending
      dispatcher.kick();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } })).state).toBe("pending");

      await redis.start();
      const jobId = `register-for-trn-${task.id}`;
      await eventually(async () => (await jobIdsInRedis()).includes(jobId), { what: "the job in Redis", timeoutMs: 20_000 });
      // the dispatcher commits the row as queued right after adding the job
      await eventually(async () => (await world.deps.prisma.syncTask.findUniqueOrThrow({ where: { id: task.id } })).state === "queued", {
        what: "the task marked queued",
      });
    } finally {
      await dispatcher.stop();
    }
  });

  it("restores every pending job after FLUSHALL", async () => {
    const docs = Array.from({ length: 20 }, () => traineeDoc());
    for (const doc of docs) expect((await api.put(doc.slug, doc)).status).toBe(201);
    await dispatchOnce(world.deps, world.queues);
    const before = await jobIdsInRedis();
    expect(before.length).toBeGreaterThanOrEqual(20);

    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    expect(await jobIdsInRedis()).toEqual([]);

    const restored = await reconcileOnce(world.deps, { graceMs: 0 });
    expect(restored).toBe(before.length);
    await dispatchOnce(world.deps, world.queues);
    expect(await jobIdsInRedis()).toEqual(before);
  });

  it("creates each job once when two dispatchers run at once", async () => {
    const docs = Array.from({ length: 150 }, () => traineeDoc());
    for (const doc of docs) await api.put(doc.slug, doc);
    const second = createDeps(world.config, { logger: createLogger({ level: "silent" }) });
    const secondQueues = createQueues(second.redis, world.config.redisPrefix);
    try {
      const addedBefore = (await jobIdsInRedis()).length;
      const [a, b] = await Promise.all([dispatchOnce(world.deps, world.queues), dispatchOnce(second, secondQueues)]);
      const ids = await jobIdsInRedis();
      expect(ids.length - addedBefore).toBe(150);
      expect(new Set(ids).size).toBe(ids.length);
      expect(a + b).toBe(150); // each row claimed by exactly one of them
      expect(await world.deps.prisma.syncTask.count({ where: { state: "pending" } })).toBe(0);
    } finally {
      await secondQueues.close();
      await second.close();
    }
  });
});
