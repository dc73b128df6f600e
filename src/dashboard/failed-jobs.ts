/**
 * Failed jobs (CONTRACT.md §8): the failed sync tasks in Postgres, which holds every job whatever
 * Redis has, with their trainees. Filters (job type, error class, a slug, TRN or name), a sort,
 * and keyset pagination: a page is found from the last row of the one before, never by skipping
 * rows, so page 1,000 costs what page 1 costs (the (state, failed_at, id) index serves the default
 * order). The CSV export reads the same query in batches.
 */
import { z } from "zod";
import type { Db } from "../deps.js";
import { Prisma, type SyncTaskKind } from "../generated/prisma/client.js";
import { jobNames } from "../jobs/queues.js";
import { choice, cursor, cursorTime, encodeCursor, line, optionalLine, parseInput } from "./input.js";

const jobTypes = Object.values(jobNames) as [string, ...string[]];
const kindOf = Object.fromEntries(Object.entries(jobNames).map(([kind, name]) => [name, kind])) as Record<string, SyncTaskKind>;

export const sorts = {
  // a failed task always has failed_at (a trigger fills it), so the (state, failed_at, id) index serves this order
  failed_at: { label: "Failed at", column: Prisma.raw("t.failed_at") },
  slug: { label: "Trainee", column: Prisma.raw("tr.slug") },
  job_type: { label: "Job type", column: Prisma.raw("t.kind::text") },
  error_class: { label: "Error class", column: Prisma.raw("coalesce(t.error_class, '')") },
} as const;
export type SortKey = keyof typeof sorts;

/**
 * The filters of the failed-jobs page, its CSV and its bulk forms (which carry them as hidden
 * fields), read through input.ts: hostile text (control characters, not UTF-8, oversized) is
 * refused with 400; a clean value the page does not offer (an old bookmark) is dropped.
 */
export const filtersSchema = z.object({
  jobType: choice(jobTypes),
  errorClass: optionalLine(100).transform((name) => (name && /^[a-z][a-z0-9_]{0,60}$/.test(name) ? name : undefined)),
  q: optionalLine(100),
  sort: choice(Object.keys(sorts) as [SortKey, ...SortKey[]]).transform((sort) => sort ?? "failed_at"),
  dir: choice(["asc", "desc"]).transform((dir) => dir ?? "desc"),
});
export type Filters = z.infer<typeof filtersSchema>;

export function parseFilters(source: unknown): Filters {
  return parseInput(source, filtersSchema);
}

/** Where a page starts: after this row of the one before. */
export interface Keyset {
  value: string;
  id: bigint;
}

/**
 * The failed-jobs page's query string: the filters and the cursor. The cursor's sort value must
 * be what the sort compares (a time Postgres can read, for the default sort), so a tampered
 * cursor is a 400, never a database error.
 */
export function parseFailedJobsQuery(source: unknown): { filters: Filters; after: Keyset | undefined } {
  const filters = parseFilters(source);
  const { after } = parseInput(
    source,
    z.object({ after: cursor(filters.sort === "failed_at" ? cursorTime : line(200), z.string().regex(/^\d{1,18}$/)).optional() }),
  );
  return { filters, after: after ? { value: after.value, id: BigInt(after.id) } : undefined };
}

/** The filters as query-string pairs (for links that keep them). */
export function filterParams(filters: Partial<Filters>): Record<string, string> {
  const params: Record<string, string> = {};
  if (filters.jobType) params.jobType = filters.jobType;
  if (filters.errorClass) params.errorClass = filters.errorClass;
  if (filters.q) params.q = filters.q;
  if (filters.sort && filters.sort !== "failed_at") params.sort = filters.sort;
  if (filters.dir && filters.dir !== "desc") params.dir = filters.dir;
  return params;
}

export interface FailedJobRow {
  taskId: bigint;
  kind: SyncTaskKind;
  errorClass: string | null;
  httpStatus: number | null;
  errorCode: number | null;
  errorMessage: string | null;
  attempts: number;
  failedAt: Date | null;
  sortValue: string;
  traineeId: string;
  slug: string;
  trn: string | null;
  firstNames: string;
  lastName: string;
  dateOfBirth: Date;
  email: string | null;
  state: string;
  providerName: string | null;
  providerUkprn: string | null;
  trainingRoute: string | null;
  ittStartDate: Date | null;
  ittEndDate: Date | null;
  courseMinAge: number | null;
  courseMaxAge: number | null;
  courseSubjects: string[] | null;
}

/** The WHERE clause of the filters (the failed state included). */
function where(filters: Filters): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`t.state = 'failed'`];
  if (filters.jobType) parts.push(Prisma.sql`t.kind = CAST(${kindOf[filters.jobType]} AS "SyncTaskKind")`);
  if (filters.errorClass) parts.push(Prisma.sql`t.error_class = ${filters.errorClass}`);
  if (filters.q) {
    const q = filters.q;
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    parts.push(
      /^\d{7}$/.test(q)
        ? Prisma.sql`tr.trn = ${q}`
        : Prisma.sql`(tr.slug = ${q} OR (tr.first_names || ' ' || tr.last_name) ILIKE ${like} OR tr.last_name ILIKE ${like})`,
    );
  }
  return Prisma.join(parts, " AND ");
}

/** One page of failed jobs after `cursor`, in the filters' order; `next` is the cursor of the page after, if any. */
export async function failedJobsPage(
  db: Db,
  options: { filters: Filters; after?: Keyset | undefined; limit: number },
): Promise<{ rows: FailedJobRow[]; next: string | null }> {
  const rows = await queryRows(db, options.filters, options.after, options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > options.limit && last ? encodeCursor(last.sortValue, last.taskId) : null };
}

/** Every failed job of the filters, in batches, for the CSV export (memory stays flat). */
export async function* allFailedJobs(db: Db, filters: Filters, batch = 1_000): AsyncGenerator<FailedJobRow[]> {
  let after: Keyset | undefined;
  for (;;) {
    const rows = await queryRows(db, filters, after, batch);
    if (!rows.length) return;
    yield rows;
    if (rows.length < batch) return;
    const last = rows[rows.length - 1]!;
    after = { value: last.sortValue, id: last.taskId };
  }
}

async function queryRows(db: Db, filters: Filters, after: Keyset | undefined, limit: number) {
  const key = sorts[filters.sort].column;
  const desc = filters.dir === "desc";
  const direction = Prisma.raw(desc ? "DESC" : "ASC");
  // the cursor carries the sort value as text: failed_at as an ISO time with microseconds
  const timeSort = filters.sort === "failed_at";
  const keyText = timeSort ? Prisma.sql`to_char(${key}, 'YYYY-MM-DD"T"HH24:MI:SS.US')` : key;
  const from = after ? (timeSort ? Prisma.sql`CAST(${after.value} AS timestamp)` : Prisma.sql`${after.value}`) : Prisma.empty;
  const keyset = after
    ? desc
      ? Prisma.sql`AND (${key}, t.id) < (${from}, ${after.id})`
      : Prisma.sql`AND (${key}, t.id) > (${from}, ${after.id})`
    : Prisma.empty;
  return db.$queryRaw<FailedJobRow[]>`
    SELECT t.id AS "taskId", t.kind::text AS kind, t.error_class AS "errorClass", t.http_status AS "httpStatus",
           t.error_code AS "errorCode", t.error_message AS "errorMessage", t.attempts, t.failed_at AS "failedAt",
           ${keyText} AS "sortValue",
           tr.id AS "traineeId", tr.slug, tr.trn, tr.first_names AS "firstNames", tr.last_name AS "lastName",
           tr.date_of_birth AS "dateOfBirth", tr.email, tr.state::text AS state, tr.provider_name AS "providerName",
           tr.provider_ukprn AS "providerUkprn", tr.training_route AS "trainingRoute", tr.itt_start_date AS "ittStartDate",
           tr.itt_end_date AS "ittEndDate", tr.course_min_age AS "courseMinAge", tr.course_max_age AS "courseMaxAge",
           tr.course_subjects AS "courseSubjects"
    FROM sync_tasks t JOIN trainees tr ON tr.id = t.trainee_id
    WHERE ${where(filters)} ${keyset}
    ORDER BY ${key} ${direction}, t.id ${direction}
    LIMIT ${limit}`;
}

export interface FailedJobCounts {
  total: number;
  trainees: number;
  byJobType: { jobType: string; count: number }[];
  byErrorClass: { errorClass: string | null; count: number }[];
}

/** The tables a filter reads: the trainees only when searching by slug, TRN or name. */
function from(filters: Filters): Prisma.Sql {
  return filters.q ? Prisma.sql`sync_tasks t JOIN trainees tr ON tr.id = t.trainee_id` : Prisma.sql`sync_tasks t`;
}

/**
 * How many failed jobs the filters match, and how they split by job type and by error class: one
 * grouped scan of the failed tasks (by type and class together, summed here) and one count of
 * their trainees, side by side.
 */
export async function failedJobCounts(db: Db, filters: Filters): Promise<FailedJobCounts> {
  const condition = where(filters);
  const [groups, trainees] = await Promise.all([
    db.$queryRaw<{ kind: SyncTaskKind; errorClass: string | null; count: bigint }[]>`
      SELECT t.kind::text AS kind, t.error_class AS "errorClass", count(*) AS count
      FROM ${from(filters)} WHERE ${condition} GROUP BY t.kind, t.error_class`,
    db.$queryRaw<{ trainees: bigint }[]>`SELECT count(DISTINCT t.trainee_id) AS trainees FROM ${from(filters)} WHERE ${condition}`,
  ]);
  const sum = <K extends string | null>(key: (row: (typeof groups)[number]) => K) => {
    const totals = new Map<K, number>();
    for (const row of groups) totals.set(key(row), (totals.get(key(row)) ?? 0) + Number(row.count));
    return [...totals];
  };
  const byCount = <T extends { count: number }>(a: T, b: T, name: (row: T) => string) =>
    b.count - a.count || name(a).localeCompare(name(b));
  return {
    total: groups.reduce((total, row) => total + Number(row.count), 0),
    trainees: Number(trainees[0]?.trainees ?? 0),
    byJobType: sum((row) => row.kind)
      .map(([kind, count]) => ({ jobType: jobNames[kind], count }))
      .sort((a, b) => byCount(a, b, (row) => row.jobType)),
    byErrorClass: sum((row) => row.errorClass)
      .map(([errorClass, count]) => ({ errorClass, count }))
      .sort((a, b) => byCount(a, b, (row) => row.errorClass ?? "")),
  };
}

/** The ids of every failed job the filters match (for "all matching" bulk actions). */
export async function failedJobIds(db: Db, filters: Filters): Promise<bigint[]> {
  const rows = await db.$queryRaw<{ id: bigint }[]>`
    SELECT t.id FROM ${from(filters)} WHERE ${where(filters)} ORDER BY t.id`;
  return rows.map((row) => row.id);
}
