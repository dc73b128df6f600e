/**
 * `/admin/dead-jobs.csv` (CONTRACT.md §8): the failed jobs of the same filters as the page, in the
 * contract's columns and order, streamed with csv-stringify in batches from Postgres, so memory
 * stays flat however many rows there are. A cell a spreadsheet would run as a formula (one starting
 * with =, +, -, @, a tab or a carriage return) gets a leading apostrophe (OWASP's advice).
 */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Response } from "express";
import { stringify } from "csv-stringify";
import type { Db } from "../deps.js";
import { errorClassInfo } from "./layout.js";
import { jobNames, taskJobId } from "../jobs/queues.js";
import { allFailedJobs, type FailedJobRow, type Filters } from "./failed-jobs.js";
import { daysSince } from "./render.js";

export const csvColumns = [
  "trainee_slug",
  "job_id",
  "job_type",
  "url",
  "trn",
  "date_of_birth",
  "full_name",
  "email",
  "state",
  "provider_name",
  "provider_ukprn",
  "training_route",
  "itt_start_date",
  "itt_end_date",
  "course_min_age",
  "course_max_age",
  "course_subject_one",
  "course_subject_two",
  "course_subject_three",
  "error_class",
  "http_status",
  "error_code",
  "error_message",
  "remediation",
  "attempts",
  "failed_at",
  "days_waiting",
] as const;

/** A text cell a spreadsheet would treat as a formula, made inert. */
export function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : "");

function csvRow(row: FailedJobRow, options: { publicBaseUrl: string; now: Date }): (string | number)[] {
  const [one, two, three] = row.courseSubjects ?? [];
  const text = (value: string | null | undefined) => neutralise(value ?? "");
  const values: Record<(typeof csvColumns)[number], string | number> = {
    trainee_slug: text(row.slug),
    job_id: taskJobId(row.kind, row.taskId),
    job_type: jobNames[row.kind],
    url: `${options.publicBaseUrl}/admin/trainees/${encodeURIComponent(row.slug)}`,
    trn: text(row.trn),
    date_of_birth: day(row.dateOfBirth),
    full_name: text(`${row.firstNames} ${row.lastName}`),
    email: text(row.email),
    state: row.state,
    provider_name: text(row.providerName),
    provider_ukprn: text(row.providerUkprn),
    training_route: text(row.trainingRoute),
    itt_start_date: day(row.ittStartDate),
    itt_end_date: day(row.ittEndDate),
    course_min_age: row.courseMinAge ?? "",
    course_max_age: row.courseMaxAge ?? "",
    course_subject_one: text(one),
    course_subject_two: text(two),
    course_subject_three: text(three),
    error_class: text(row.errorClass),
    http_status: row.httpStatus ?? "",
    error_code: row.errorCode ?? "",
    error_message: text(row.errorMessage),
    remediation: text(errorClassInfo(row.errorClass)?.remediation),
    attempts: row.attempts,
    failed_at: row.failedAt ? row.failedAt.toISOString() : "",
    days_waiting: daysSince(row.failedAt, options.now) ?? "",
  };
  return csvColumns.map((column) => values[column]);
}

/** `failed-jobs[-<job type>][-<error class>][-q-<search>]-<date>.csv` */
export function csvFileName(filters: Filters, now: Date): string {
  const parts = ["failed-jobs", filters.jobType, filters.errorClass, filters.q ? `q-${filters.q}` : undefined, day(now)];
  return `${parts
    .filter(Boolean)
    .join("-")
    .replace(/[^A-Za-z0-9_.-]+/g, "_")}.csv`;
}

/** Streams the CSV of `filters` to `res`; resolves once it is all written (or the client went away). */
export async function sendFailedJobsCsv(
  res: Response,
  options: { db: Db; filters: Filters; publicBaseUrl: string; now: Date },
): Promise<void> {
  res.status(200).set({
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${csvFileName(options.filters, options.now)}"`,
    "Cache-Control": "no-store",
  });
  const rows = Readable.from(
    (async function* () {
      for await (const batch of allFailedJobs(options.db, options.filters)) {
        for (const row of batch) yield csvRow(row, options);
      }
    })(),
  );
  await pipeline(rows, stringify({ header: true, columns: [...csvColumns], bom: false }), res);
}
