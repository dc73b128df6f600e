/**
 * The hot path's statements go to the pg pool directly, so the errors the job runner and the web
 * server see are pg's own, not Prisma's: Postgres gone (refused, terminated, restarting, no
 * connection in time) must still read as "unavailable, try again later", and a deterministic error
 * (bad input, a constraint, the transition guard) still fails for good. Real errors, not hand-made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { isDatabaseUnavailable, isDeterministicDatabaseError } from "../src/errors.js";
import { classify } from "../src/jobs/classify.js";
import { claimTask } from "../src/trainees/sync-tasks.js";
import { createTestWorld, type TestWorld } from "./support/context.js";
import { freePort } from "./support/free-port.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.cleanup());

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

const unavailable = (error: unknown) => {
  expect(isDatabaseUnavailable(error)).toBe(true);
  expect(isDeterministicDatabaseError(error)).toBe(false);
  expect(classify(error).errorClass.name).toBe("database_unavailable");
};

describe("pg's errors for Postgres gone", () => {
  it("a refused connection (nothing listening), at the claim", async () => {
    const dead = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${await freePort()}/trs_sync` });
    try {
      unavailable(await failure(() => claimTask(dead, { taskId: 1n, attempt: 1, now: new Date(), maxStalls: 5 })));
    } finally {
      await dead.end();
    }
  });

  it("a connection terminated by the server mid-statement (57P01), and the client left unusable after it", async () => {
    const client = await world.deps.pool.connect();
    client.on("error", () => {});
    try {
      const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const sleeping = failure(() => client.query("SELECT pg_sleep(30)"));
      await world.deps.pool.query("SELECT pg_terminate_backend($1) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [
        rows[0]!.pid,
      ]);
      const terminated = await sleeping;
      expect((terminated as { code?: string }).code).toBe("57P01");
      unavailable(terminated);
      unavailable(await failure(() => client.query("SELECT 1")));
    } finally {
      client.release(true);
    }
  });

  it("no pool connection in time", async () => {
    const small = new pg.Pool({ connectionString: world.config.databaseUrl, max: 1, connectionTimeoutMillis: 50 });
    const held = await small.connect();
    try {
      unavailable(await failure(() => small.query("SELECT 1")));
    } finally {
      held.release();
      await small.end();
    }
  });
});

describe("pg's deterministic errors", () => {
  it.each([
    ["invalid input", "SELECT 'x'::int", "22P02"],
    ["a missing column", "SELECT no_such_column FROM trainees", "42703"],
  ])("%s fails for good", async (_, text, sqlState) => {
    const error = await failure(() => world.deps.pool.query(text));
    expect((error as { code?: string }).code).toBe(sqlState);
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(isDeterministicDatabaseError(error)).toBe(true);
    expect(classify(error).errorClass.name).toBe("database_error");
  });

  it("the transition guard refusing a move fails for good", async () => {
    const trainee = await world.deps.prisma.trainee.create({
      data: {
        slug: `guard-${Date.now()}`,
        state: "draft",
        firstNames: "A",
        lastName: "B",
        dateOfBirth: new Date("1990-01-01"),
        documentHash: "0",
      },
    });
    const task = await world.deps.prisma.syncTask.create({
      data: { traineeId: trainee.id, kind: "update_trainee", phase: 1, state: "succeeded" },
    });
    const error = await failure(() => world.deps.pool.query("UPDATE sync_tasks SET state = 'queued' WHERE id = $1", [task.id.toString()]));
    expect((error as { code?: string }).code).toBe("23514");
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(isDeterministicDatabaseError(error)).toBe(true);
  });

  it("a plain error that merely mentions a connection is not Postgres gone", () => {
    expect(isDatabaseUnavailable(new Error("the API connection was refused"))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error("Connection terminated"), { code: "23505" }))).toBe(false);
  });
});
