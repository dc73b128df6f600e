/**
 * The errors trs-sync raises itself, and what a database error means for a retry. The error class
 * table (jobs/classify.ts) turns any of these, and the API client's ApiError, into a class with a
 * remediation; this file holds only the types, so that trainees/ and jobs/ can both raise them.
 */

/** An error the job layer raises itself with an explicit error class (no HTTP involved). */
export class SyncError extends Error {
  constructor(
    readonly errorClassName: string,
    message: string,
  ) {
    super(message);
    this.name = "SyncError";
  }
}

/** A support action that cannot be done as asked; the message is shown to support staff as is. */
export class SupportActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SupportActionError";
  }
}

/**
 * The run no longer owns its task (support cancelled it, the trainee was discarded, another run
 * took over): it stops before sending anything more and records nothing.
 */
export class RunSuperseded extends Error {
  constructor() {
    super("the task changed while this run was under way");
    this.name = "RunSuperseded";
  }
}

/** Prisma's code (P1001, P2002 …) and the Postgres SQLSTATE behind it, when the error has them. */
function databaseCodes(error: unknown): { prisma: string | undefined; sqlState: string | undefined } {
  if (!error || typeof error !== "object") return { prisma: undefined, sqlState: undefined };
  const code = (error as { code?: unknown }).code;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }).meta
    ?.driverAdapterError?.cause;
  const sqlState = typeof cause?.originalCode === "string" ? cause.originalCode : typeof cause?.code === "string" ? cause.code : undefined;
  const prisma = typeof code === "string" && /^P\d{4}$/.test(code) ? code : undefined;
  return { prisma, sqlState: sqlState ?? (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined) };
}

/** The Postgres SQLSTATE behind a database error (e.g. 55P03 lock_not_available), or undefined. */
export function sqlStateOf(error: unknown): string | undefined {
  return databaseCodes(error).sqlState;
}

/** The SQLSTATE of a Postgres data exception (class 22: invalid text, out of range, bad encoding…), or undefined. */
export function dataExceptionOf(error: unknown): string | undefined {
  const { sqlState } = databaseCodes(error);
  return sqlState?.startsWith("22") ? sqlState : undefined;
}

/** The socket to Postgres refused, reset or never reached (Node's codes, on pg's connection errors). */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** pg's own words for a connection lost, closed under a query or not made in time (these errors carry no code). */
const pgConnectionLost =
  /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

/** A connection-level failure of the pg driver (the hot path's plain statements on deps.pool). */
function isConnectionFailure(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && networkCodes.has(code)) return true;
  // Node's AggregateError when every address of the host refused (localhost: ::1 and 127.0.0.1)
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length && errors.every(isConnectionFailure)) return true;
  return error instanceof Error && !("code" in error && error.code) && pgConnectionLost.test(error.message);
}

/**
 * Postgres is down, restarting, out of connections or cut off: the same statement later may well
 * succeed. (Prisma P1001 can't reach, P1002/P1008 timeouts, P1017 closed, P2024 pool timeout,
 * P2028 transaction closed under us; SQLSTATE 08 connection, 57P admin shutdown, 53 resources,
 * 40001/40P01 serialization and deadlock; from pg directly, a refused or reset socket and a
 * connection terminated or not made in time.)
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { prisma, sqlState } = databaseCodes(error);
  if (prisma && ["P1001", "P1002", "P1008", "P1017", "P2024", "P2028"].includes(prisma)) return true;
  if (isConnectionFailure(error)) return true;
  if (!sqlState) return false;
  return /^(08|53|57P)/.test(sqlState) || sqlState === "40001" || sqlState === "40P01";
}

/**
 * The same statement with the same data fails again, whenever it runs: unique, foreign-key, check
 * and not-null violations, invalid or out-of-range input, a guard trigger refusing the change.
 * Retrying it is pointless, so it is never classed as transient.
 */
export function isDeterministicDatabaseError(error: unknown): boolean {
  const { prisma, sqlState } = databaseCodes(error);
  if (
    prisma &&
    ["P2000", "P2002", "P2003", "P2004", "P2005", "P2006", "P2007", "P2011", "P2012", "P2014", "P2019", "P2020", "P2023"].includes(prisma)
  ) {
    return true;
  }
  if (!sqlState) return false;
  return /^(22|23|42)/.test(sqlState) || sqlState === "P0001";
}
