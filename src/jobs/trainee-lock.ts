/**
 * The per-trainee lock held while a job talks to the teacher records API: a transaction-scoped
 * Postgres advisory lock, so that across any number of worker processes at most one job of a
 * trainee talks to the API at a time, and a worker that dies releases it with its connection.
 *
 * A worker host that vanishes without closing its TCP connection would keep the lock until the
 * operating system notices (about two hours). So the lock's session is ended by Postgres itself once
 * it has sat idle in its transaction for the lock's lifetime (idle_in_transaction_session_timeout),
 * whatever the worker does; Prisma rolls the transaction back after the same time on our side.
 */
import type { Db } from "../deps.js";
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
 * Runs `work` while holding the trainee's advisory lock, or throws TraineeBusy at once. The lock
 * belongs to a transaction that does nothing else, so what `work` writes (timeline events, the
 * TRN) through other connections is committed as it happens.
 */
export async function withTraineeLock<T>(db: Db, traineeId: string, lifetimeMs: number, work: () => Promise<T>): Promise<T> {
  const ms = Math.max(1, Math.ceil(lifetimeMs));
  return db.$transaction(
    async (lockTx) => {
      await lockTx.$executeRawUnsafe(`SET LOCAL idle_in_transaction_session_timeout = ${ms}`);
      const [row] = await lockTx.$queryRaw<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_xact_lock(${LOCK_SPACE}, hashtext(${traineeId})) AS locked`;
      if (!row?.locked) throw new TraineeBusy();
      return work();
    },
    { timeout: ms, maxWait: 30_000 },
  );
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
