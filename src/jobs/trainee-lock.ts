/**
 * The per-trainee lock held while a job talks to the teacher records API: a transaction-scoped
 * Postgres advisory lock, so that across any number of worker processes at most one job of a
 * trainee talks to the API at a time, and a worker that dies releases it with its connection.
 *
 * A worker host that vanishes without closing its TCP connection would keep the lock until the
 * operating system notices (about two hours). So the lock's session is ended by Postgres itself once
 * it has sat idle in its transaction for the lock's lifetime (idle_in_transaction_session_timeout),
 * whatever the worker does; a run that outlives it finds its COMMIT refused (database_unavailable).
 */
import type pg from "pg";
import { sqlStateOf } from "../errors.js";

/** The key space of trs-sync's advisory locks (the first half of the two-part key). */
const LOCK_SPACE = 7318;

/** Another job of the trainee holds the lock: look again shortly. */
export class TraineeBusy extends Error {
  constructor() {
    super("another job of the trainee is talking to the API");
    this.name = "TraineeBusy";
  }
}

/**
 * How long a run may hold its trainee's lock: each of its API calls may wait for a request slot
 * (at most `slotWaitMs`, clients/request-gate.ts) and then take API_TIMEOUT, and one more
 * API_TIMEOUT covers its database writes. Derived, so a longer timeout never outlives the lock.
 */
export function lockLifetimeMs(maxCalls: number, apiTimeoutMs: number, slotWaitMs = 0): number {
  return maxCalls * (apiTimeoutMs + slotWaitMs) + apiTimeoutMs;
}

/**
 * How long a job waits for a pool connection to hold its lock: all of them may be busy (each running
 * job holds one for its API calls) and one comes free as soon as a job ends. Past this the run fails
 * as database_unavailable, a transient class: retried with backoff, spending an attempt (as
 * Prisma's wait to start a transaction did).
 */
const CONNECT_WAIT_MS = 30_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A statement and its parameters ($1, $2 …), as pool.query takes them. */
export interface Statement {
  text: string;
  values: readonly unknown[];
}

/**
 * Runs `work` while holding the trainee's advisory lock, or throws TraineeBusy at once. The lock
 * belongs to a transaction that does nothing else, on a pool connection of its own, so what `work`
 * writes (timeline events, the TRN) through other connections is committed as it happens.
 *
 * Two round trips: BEGIN, the idle timeout and the lock as one simple query (which cannot carry
 * parameters: the trainee id is checked to be a uuid and quoted), then COMMIT.
 */
export async function withTraineeLock<T>(pool: pg.Pool, traineeId: string, lifetimeMs: number, work: () => Promise<T>): Promise<T> {
  return (await holdTraineeLock(pool, traineeId, lifetimeMs, work)).value;
}

/**
 * withTraineeLock, then `finish(value)`'s statement (the run's fenced outcome) sent on the lock's own
 * connection with its COMMIT, in the same round trip: the outcome is written while the lock is
 * still held, and committed as the lock is let go. Returns the statement's row count with the value.
 * If `work` throws, nothing is finished.
 */
export async function withTraineeLockThen<T>(
  pool: pg.Pool,
  traineeId: string,
  lifetimeMs: number,
  work: () => Promise<T>,
  finish: (value: T) => Statement,
): Promise<{ value: T; rowCount: number }> {
  const held = await holdTraineeLock(pool, traineeId, lifetimeMs, work, finish);
  return { value: held.value, rowCount: held.rowCount ?? 0 };
}

async function holdTraineeLock<T>(
  pool: pg.Pool,
  traineeId: string,
  lifetimeMs: number,
  work: () => Promise<T>,
  finish?: (value: T) => Statement,
): Promise<{ value: T; rowCount: number | null }> {
  if (!UUID.test(traineeId)) throw new Error(`the trainee lock needs a trainee id (a uuid), not ${JSON.stringify(traineeId)}`);
  const ms = Math.max(1, Math.ceil(lifetimeMs));
  const client = await connectWithin(pool, CONNECT_WAIT_MS);
  // a session ended under us (the idle timeout, a Postgres restart) is not given back to the pool
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on("error", onError);
  /** our own statements on the lock's session: one that fails leaves the session in doubt */
  const send = async (text: string) => {
    try {
      return await client.query(text);
    } catch (error) {
      broken = true;
      throw error;
    }
  };
  try {
    const results = (await send(
      `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${ms}; ` +
        `SELECT pg_try_advisory_xact_lock(${LOCK_SPACE}, hashtext(${client.escapeLiteral(traineeId)})) AS locked`,
    )) as unknown as pg.QueryResult<{ locked: boolean }>[];
    if (results[2]?.rows[0]?.locked !== true) {
      await send("ROLLBACK");
      throw new TraineeBusy();
    }
    let value: T;
    let finishing: string | undefined;
    try {
      value = await work();
      finishing = finish && inline(client, finish(value));
    } catch (error) {
      await send("ROLLBACK").catch(() => {});
      throw error;
    }
    if (finishing === undefined) {
      await send("COMMIT");
      return { value, rowCount: null };
    }
    const done = (await send(`${finishing}; COMMIT`)) as unknown as pg.QueryResult[];
    return { value, rowCount: done[0]?.rowCount ?? 0 };
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

/** The statement with its parameters quoted in, for a simple query (the only kind that may hold several statements). */
function inline(client: pg.PoolClient, statement: Statement): string {
  return statement.text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = statement.values[Number(n) - 1];
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Date) return client.escapeLiteral(value.toISOString());
    if (typeof value === "string") return client.escapeLiteral(value);
    throw new Error(`cannot quote parameter $${n} (${typeof value}) into a simple query`);
  });
}

/** A connection of the pool, waiting for one up to `waitMs` (pg's own wait has no per-call limit). */
async function connectWithin(pool: pg.Pool, waitMs: number): Promise<pg.PoolClient> {
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timeout exceeded when trying to connect: no pool connection came free in ${waitMs} ms`)),
      waitMs,
    );
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (error) {
    pending.then(
      (client) => client.release(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long a support action (check now, re-submit, extend the deadline) waits for the trainee's
 * lock: a job holds it while it talks to the API, at most lockLifetimeMs, usually well under a
 * second. Past this the action does nothing and says the trainee is busy.
 */
export const SUPPORT_LOCK_WAIT_MS = 10_000;

/**
 * Takes the trainee's lock (the one jobs hold, above) inside `tx`, the support action's own
 * transaction, waiting up to `waitMs` for a running job to finish with the API; throws
 * TraineeBusy when the wait is over (the transaction is then spoilt: let it roll back). The lock
 * is released when `tx` ends, so the action's decision and its writes happen while no job of the
 * trainee is talking to the API, and it decides on what that job stored.
 *
 * Take it before any row lock of the trainee: jobs take row locks while they hold this lock.
 */
export async function waitForTraineeLock(
  tx: {
    $executeRawUnsafe(query: string): Promise<number>;
    $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  },
  traineeId: string,
  waitMs: number,
): Promise<void> {
  await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = ${Math.max(1, Math.ceil(waitMs))}`);
  try {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LOCK_SPACE}, hashtext(${traineeId}))`;
  } catch (error) {
    if (sqlStateOf(error) === "55P03") throw new TraineeBusy(); // lock_not_available: lock_timeout passed
    throw error;
  }
}
