/**
 * The trainee lock on the pool (two round trips: BEGIN + timeout + lock as one simple query, then
 * COMMIT): at most one holder per trainee however many runs start together, TraineeBusy for the
 * others, the connection given back in every case, and a trainee id that is not a uuid never
 * reaches the SQL text.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TraineeBusy, withTraineeLock, withTraineeLockThen } from "../../src/jobs/trainee-lock.js";
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

  it("writes the finishing statement with the COMMIT, its parameters quoted exactly, and nothing when the work fails", async () => {
    const traineeId = randomUUID();
    await world.deps.pool.query("CREATE TABLE IF NOT EXISTS lock_finish_test (id int PRIMARY KEY, note text, at timestamp(3), n bigint)");
    await world.deps.pool.query("INSERT INTO lock_finish_test (id) VALUES (1), (2)");
    const hostile = "it's a \\ back'slash; COMMIT; DROP TABLE lock_finish_test; --";
    const at = new Date("2026-12-03T09:01:02.345Z");
    const update = (id: number) => ({
      text: "UPDATE lock_finish_test SET note = $2, at = ($3::timestamptz AT TIME ZONE 'UTC'), n = $4 WHERE id = $1",
      values: [id, hostile, at, 9_007_199_254_740_993n],
    });
    const held = await withTraineeLockThen(world.deps.pool, traineeId, 10_000, async () => 1, update);
    expect(held).toEqual({ value: 1, rowCount: 1 });
    const { rows } = await world.deps.pool.query("SELECT note, to_jsonb(at) AS at, n::text AS n FROM lock_finish_test WHERE id = 1");
    expect(rows[0]).toEqual({ note: hostile, at: "2026-12-03T09:01:02.345", n: "9007199254740993" });
    expect((await withTraineeLockThen(world.deps.pool, traineeId, 10_000, async () => 3, update)).rowCount).toBe(0);

    await expect(
      withTraineeLockThen(
        world.deps.pool,
        traineeId,
        10_000,
        async () => {
          throw new Error("no");
        },
        () => update(2),
      ),
    ).rejects.toThrow("no");
    expect((await world.deps.pool.query("SELECT note FROM lock_finish_test WHERE id = 2")).rows[0]).toEqual({ note: null });
    // a statement that cannot be quoted into the simple query: nothing written, the lock let go
    await expect(
      withTraineeLockThen(
        world.deps.pool,
        traineeId,
        10_000,
        async () => 4,
        () => ({ text: "SELECT $1", values: [{ not: "quotable" }] }),
      ),
    ).rejects.toThrow(/cannot quote/);
    // and the lock was let go each time
    expect(await withTraineeLock(world.deps.pool, traineeId, 10_000, async () => "free")).toBe("free");
  });
});
