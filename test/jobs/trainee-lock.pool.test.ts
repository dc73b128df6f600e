/**
 * The trainee lock on the pool (two round trips: BEGIN + timeout + lock as one simple query, then
 * COMMIT): at most one holder per trainee however many runs start together, TraineeBusy for the
 * others, the connection given back in every case, and a trainee id that is not a uuid never
 * reaches the SQL text.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TraineeBusy, withTraineeLock } from "../../src/jobs/trainee-lock.js";
import { createTestWorld, type TestWorld } from "../support/context.js";

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld({ env: { DATABASE_POOL_SIZE: "12" } });
});
afterAll(() => world.cleanup());

const ROUNDS = 40;
const AT_ONCE = 8;

describe("withTraineeLock on the pool", () => {
  it(`lets one run of a trainee in at a time, ${ROUNDS * AT_ONCE} runs started in groups together`, async () => {
    const traineeId = randomUUID();
    let holders = 0;
    let most = 0;
    let ran = 0;
    let busy = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const runs = Array.from({ length: AT_ONCE }, () =>
        withTraineeLock(world.deps.pool, traineeId, 10_000, async () => {
          holders++;
          most = Math.max(most, holders);
          await new Promise((resolve) => setImmediate(resolve));
          holders--;
          ran++;
        }).catch((error: unknown) => {
          if (!(error instanceof TraineeBusy)) throw error;
          busy++;
        }),
      );
      await Promise.all(runs);
    }
    expect(most).toBe(1);
    expect(ran + busy).toBe(ROUNDS * AT_ONCE);
    expect(ran).toBeGreaterThanOrEqual(ROUNDS);
    expect(busy).toBeGreaterThan(0); // the runs really overlapped
    expect(world.deps.pool.totalCount).toBeLessThanOrEqual(12);
  }, 60_000);

  it("sets the idle timeout to the lock's lifetime, in the lock's own transaction", async () => {
    const seen = await withTraineeLock(world.deps.pool, randomUUID(), 12_345.2, async () => {
      const { rows } = await world.deps.pool.query<{ timeout: string; holders: number }>(
        "SELECT setting AS timeout, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND classid = 7318 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS holders FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'",
      );
      return rows[0]!;
    });
    expect(seen.timeout).toBe("0"); // other sessions are untouched
    expect(seen.holders).toBe(1);
  });

  it("releases the lock when the work fails, and the error is the work's", async () => {
    const traineeId = randomUUID();
    await expect(
      withTraineeLock(world.deps.pool, traineeId, 10_000, async () => {
        throw new Error("the API said no");
      }),
    ).rejects.toThrow("the API said no");
    expect(await withTraineeLock(world.deps.pool, traineeId, 10_000, async () => "again")).toBe("again");
  });

  it("refuses a trainee id that is not a uuid before sending anything", async () => {
    for (const id of ["'); SELECT pg_sleep(10); --", "x", `${randomUUID()}'`]) {
      await expect(withTraineeLock(world.deps.pool, id, 10_000, async () => "ran")).rejects.toThrow(/needs a trainee id/);
    }
  });

  it("gives every connection back: after busy, failed and finished runs the pool is idle", async () => {
    const traineeId = randomUUID();
    await withTraineeLock(world.deps.pool, traineeId, 10_000, async () => {
      await expect(withTraineeLock(world.deps.pool, traineeId, 10_000, async () => "no")).rejects.toBeInstanceOf(TraineeBusy);
    });
    const pool = world.deps.pool;
    expect(pool.waitingCount).toBe(0);
    expect(pool.idleCount).toBe(pool.totalCount);
  });
});
