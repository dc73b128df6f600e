/**
 * The dispatcher in bulk (one UPDATE marks a batch queued, one presence check and one addBulk put
 * the jobs in BullMQ, then COMMIT): a Redis failure between the UPDATE and the addBulk leaves the
 * tasks pending, a job BullMQ still holds is handled as ensureJob always did, bulk-added jobs get
 * ensureJob's options, and dispatchers racing over the same tasks never create a job twice nor
 * leave a task queued without its job.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { createDeps, type Deps } from "../../src/deps.js";
import { createLogger } from "../../src/logger.js";
import { createQueues, taskJobId, type Queues } from "../../src/jobs/queues.js";
import { dispatchOnce } from "../../src/jobs/dispatcher.js";
import { ensureJob } from "../../src/jobs/enqueue.js";
import { syncJobs } from "../../src/jobs/registry.js";
import { createTestWorld, eventually, type TestWorld } from "../support/context.js";
import { privateRedis, type PrivateRedis } from "../support/private-redis.js";

let redis: PrivateRedis;
let world: TestWorld;
beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  world = await createTestWorld({ env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await redis.start().catch(() => {}); // cleanup needs it
  await world.cleanup();
  await redis.stop();
});

/**
 * `count` trainees, each with a pending register task and a pending update behind it (not a head
 * task until the register task is done). Returns the register tasks' ids.
 */
async function pendingTrainees(deps: Deps, count: number): Promise<bigint[]> {
  const { rows } = await deps.pool.query<{ id: string }>(
    `WITH t AS (
       INSERT INTO trainees (id, slug, state, first_names, last_name, date_of_birth, document_hash, updated_at)
       SELECT gen_random_uuid(), 'bulk' || replace(gen_random_uuid()::text, '-', ''), 'submitted_for_trn', 'A', 'B', '1990-01-01', 'h', now()
       FROM generate_series(1, $1) RETURNING id),
     behind AS (
       INSERT INTO sync_tasks (trainee_id, kind, phase, updated_at) SELECT id, 'update_trainee', 1, now() FROM t)
     INSERT INTO sync_tasks (trainee_id, kind, phase, updated_at) SELECT id, 'register_for_trn', 0, now() FROM t RETURNING id::text`,
    [count],
  );
  return rows.map((row) => BigInt(row.id)).sort((a, b) => (a < b ? -1 : 1));
}

async function states(deps: Deps, ids: bigint[]): Promise<string[]> {
  const tasks = await deps.prisma.syncTask.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } });
  return tasks.map((task) => task.state);
}

const jobIdOf = (id: bigint) => taskJobId("register_for_trn", id);

describe("the dispatcher in bulk", () => {
  it("leaves the tasks pending when Redis fails between the UPDATE and the addBulk; the next pass brings them", async () => {
    const ids = await pendingTrainees(world.deps, 5);
    const queue = world.queues.teacherRecords;
    const addBulk = queue.addBulk.bind(queue);
    const spy = vi.spyOn(queue, "addBulk").mockImplementationOnce(async (jobs) => {
      // the batch is marked queued (uncommitted) and its presence checked: now Redis goes away
      await redis.stop();
      return addBulk(jobs);
    });
    try {
      await expect(dispatchOnce(world.deps, world.queues)).rejects.toThrow();
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
      await redis.start();
      // the queue's connection fails fast while down (no offline queue): wait until it is back
      await eventually(async () => world.deps.redis.status === "ready", { what: "the queue's Redis connection back" });
    }
    // rolled back: nothing lost, nothing marked queued without its job
    expect(await states(world.deps, ids)).toEqual(ids.map(() => "pending"));
    for (const id of ids) expect(await queue.getJob(jobIdOf(id))).toBeUndefined();

    expect(await dispatchOnce(world.deps, world.queues)).toBe(ids.length);
    expect(await states(world.deps, ids)).toEqual(ids.map(() => "queued"));
    for (const id of ids) expect(await queue.getJob(jobIdOf(id))).toBeDefined();
  });

  it("gives up a pass whose Redis hangs without failing, and its rows are pending and unlocked again", async () => {
    const ids = await pendingTrainees(world.deps, 3);
    const queue = world.queues.teacherRecords;
    const hung = vi.spyOn(queue, "addBulk").mockImplementationOnce(() => new Promise(() => {}));
    try {
      await expect(dispatchOnce(world.deps, world.queues, { transactionMs: 300 })).rejects.toThrow(/took over 300 ms/);
    } finally {
      hung.mockRestore();
    }
    expect(await states(world.deps, ids)).toEqual(ids.map(() => "pending"));
    // nothing holds them: a support action's row lock is granted at once
    const locked = await world.deps.pool.query(`SELECT id FROM sync_tasks WHERE id = ANY($1::bigint[]) FOR UPDATE NOWAIT`, [
      ids.map(String),
    ]);
    expect(locked.rowCount).toBe(ids.length);
    expect(await dispatchOnce(world.deps, world.queues)).toBeGreaterThanOrEqual(ids.length);
    expect(await states(world.deps, ids)).toEqual(ids.map(() => "queued"));
  });

  it("adds new jobs with ensureJob's options, and replaces a finished job BullMQ still holds, as ensureJob does", async () => {
    const [fresh, parked] = await pendingTrainees(world.deps, 2);
    const queue = world.queues.teacherRecords;
    // the parked task's old job ran and completed: the dispatch must replace it with a fresh one
    await queue.add("register-for-trn", { old: true }, { jobId: jobIdOf(parked!), removeOnComplete: false });
    const worker = new Worker(queue.name, async () => "done", {
      connection: world.deps.newRedis("worker"),
      prefix: world.config.redisPrefix,
    });
    try {
      await vi.waitFor(async () => expect(await (await queue.getJob(jobIdOf(parked!)))?.getState()).toBe("completed"), { timeout: 10_000 });
    } finally {
      await worker.close(); // before the dispatch: it would take the new jobs
    }

    expect(await dispatchOnce(world.deps, world.queues)).toBe(2);
    const bulk = (await queue.getJob(jobIdOf(fresh!)))!;
    const replaced = (await queue.getJob(jobIdOf(parked!)))!;
    expect(await replaced.getState()).toBe("waiting");
    expect(replaced.data).toEqual({ slug: expect.any(String), taskId: String(parked) });

    // a job added by ensureJob itself, to compare options with
    await ensureJob({
      queue,
      name: "register-for-trn",
      jobId: "compare-1",
      data: {},
      delayMs: 0,
      retry: syncJobs.register_for_trn.retry,
    });
    const reference = (await queue.getJob("compare-1"))!;
    const { jobId: _a, ...bulkOpts } = bulk.opts;
    const { jobId: _b, ...referenceOpts } = reference.opts;
    expect(bulkOpts).toEqual(referenceOpts);
    expect(bulkOpts).toMatchObject({ attempts: syncJobs.register_for_trn.retry.attempts, backoff: { type: "classified" } });
    await queue.remove("compare-1");
  });

  it("never creates a job twice nor leaves a task queued without its job when three dispatchers race, 200 times", async () => {
    const others: { deps: Deps; queues: Queues }[] = [];
    for (let i = 0; i < 2; i++) {
      const deps = createDeps(world.config, { logger: createLogger({ level: "silent" }) });
      others.push({ deps, queues: createQueues(deps.redis, world.config.redisPrefix) });
    }
    const dispatchers = [{ deps: world.deps, queues: world.queues }, ...others];
    const queue = world.queues.teacherRecords;
    const eventsKey = queue.toKey("events");
    // the queue's own connection (an ioredis client behind BullMQ's proxy)
    const client = (await queue.backend.client) as unknown as Redis;
    // only the events of this test: the earlier tests replaced a job (added twice, rightly)
    const [[since] = ["0-0"]] = await client.xrevrange(eventsKey, "+", "-", "COUNT", 1);
    try {
      for (let round = 0; round < 200; round++) {
        const ids = await pendingTrainees(world.deps, 1 + (round % 7));
        const counts = await Promise.all(dispatchers.map((d) => dispatchOnce(d.deps, d.queues)));
        // each head task dispatched by exactly one of them
        expect(
          counts.reduce((a, b) => a + b, 0),
          `round ${round}`,
        ).toBe(ids.length);
        expect(await states(world.deps, ids)).toEqual(ids.map(() => "queued"));
        for (const id of ids) expect(await queue.getJob(jobIdOf(id)), `round ${round}: job of task ${id}`).toBeDefined();
      }
      // every job was added once: one "added" event per job id in BullMQ's event stream
      const events = await client.xrange(eventsKey, `(${since}`, "+");
      const added = new Map<string, number>();
      for (const [, fields] of events) {
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        if (field("event") === "added") added.set(field("jobId")!, (added.get(field("jobId")!) ?? 0) + 1);
      }
      expect(added.size).toBeGreaterThan(200);
      expect([...added.entries()].filter(([, n]) => n > 1)).toEqual([]);
    } finally {
      for (const other of others) {
        await other.queues.close();
        await other.deps.close();
      }
    }
  });
});
