/**
 * Cutover from Register (`npm run cli -- import FILE`): stores trainees exactly as Register left
 * them, sending nothing. TRS keys routes by (reference, API client) and looks TRN requests up per
 * client, so trs-sync runs with Register's TRS API client and carries on from Register's state:
 * a pending TRN request keeps polling with its own id and deadline, and a later change updates the
 * route Register created (the reference is the slug in both).
 *
 * One line of JSON per trainee: `{"document": {…CONTRACT.md §4, with state and trn…},
 * "trnRequest": {"requestId": "…", "submittedAt": "…"} | null}`. Each line is checked on its own;
 * a refused line is reported and the others go on. Importing the same file again changes nothing.
 * Lines are written in batches, one transaction each, so a batch is either in or not.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Db } from "../deps.js";
import { insertRows } from "../db/bulk-insert.js";
import { dateProblems, fieldErrors, traineeDocumentSchema, type TraineeDocument } from "./document.js";
import { dateOnly, documentHash, rowFields } from "./records.js";
import { phaseOf } from "./sync-tasks.js";
import { trnDeadline, type TrnPollConfig } from "./trn-schedule.js";

const lineSchema = z
  .object({
    document: z.unknown(),
    trnRequest: z
      .object({
        requestId: z.string().trim().min(1).max(100),
        submittedAt: z.iso.datetime({ offset: true }),
      })
      .strict()
      .nullish(),
  })
  .strict();

/** Register states trs-sync can carry on from without sending anything. */
const importableStates = new Set(["draft", "submitted_for_trn", "trn_received", "deferred", "withdrawn", "awarded"]);

export interface ImportReport {
  read: number;
  imported: number;
  unchanged: number;
  /** pending TRN requests that go on being polled */
  polling: number;
  refused: { line: number; slug: string | null; errors: Record<string, string[]> }[];
}

interface Valid {
  line: number;
  doc: TraineeDocument;
  hash: string;
  request: { requestId: string; submittedAt: Date } | null;
}

/** Checks one line; a string or a Valid. */
function parseLine(text: string, line: number, now: Date): Valid | { errors: Record<string, string[]>; slug: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { errors: { line: ["is not JSON"] }, slug: null };
  }
  const outer = lineSchema.safeParse(json);
  if (!outer.success) return { errors: fieldErrors(outer.error), slug: null };
  const parsed = traineeDocumentSchema.safeParse(outer.data.document);
  const slug = (outer.data.document as { slug?: unknown } | null)?.slug;
  const slugText = typeof slug === "string" ? slug : null;
  if (!parsed.success) return { errors: prefixed(fieldErrors(parsed.error)), slug: slugText };
  const doc = parsed.data;
  const errors: Record<string, string[]> = prefixed(dateProblems(doc, now));
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  const request = outer.data.trnRequest ?? null;
  if (!importableStates.has(doc.state)) {
    add(
      "document.state",
      "recommended_for_award cannot be imported: finish the award in Register (or undo the recommendation) before the cutover",
    );
  }
  const needsTrn = doc.state !== "draft" && doc.state !== "submitted_for_trn";
  if (needsTrn && !doc.trn) add("document.trn", `is required with ${doc.state}`);
  if (!needsTrn && doc.trn) add("document.trn", `cannot come with ${doc.state}: a trainee with a TRN is trn_received or later`);
  if (request && doc.state !== "submitted_for_trn") add("trnRequest", "only a trainee submitted for TRN has an open TRN request");
  if (Object.keys(errors).length) return { errors, slug: doc.slug };
  return {
    line,
    doc,
    hash: documentHash(doc),
    request: request ? { requestId: request.requestId, submittedAt: new Date(request.submittedAt) } : null,
  };
}

function prefixed(errors: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(errors).map(([key, messages]) => [`document.${key}`, messages]));
}

/** Imports the lines of one file (any async iterable of lines); `batchSize` lines per transaction. */
export async function importFromRegister(options: {
  db: Db;
  lines: AsyncIterable<string>;
  now: Date;
  trnPoll: TrnPollConfig;
  batchSize?: number;
}): Promise<ImportReport> {
  const report: ImportReport = { read: 0, imported: 0, unchanged: 0, polling: 0, refused: [] };
  const batchSize = options.batchSize ?? 2_000;
  let batch: Valid[] = [];
  for await (const text of options.lines) {
    report.read++;
    if (text.trim() === "") {
      report.read--;
      continue;
    }
    const result = parseLine(text, report.read, options.now);
    if ("errors" in result) {
      report.refused.push({ line: report.read, slug: result.slug, errors: result.errors });
      continue;
    }
    batch.push(result);
    if (batch.length >= batchSize) {
      await writeBatch(options, batch, report);
      batch = [];
    }
  }
  if (batch.length) await writeBatch(options, batch, report);
  report.refused.sort((a, b) => a.line - b.line);
  return report;
}

async function writeBatch(options: { db: Db; now: Date; trnPoll: TrnPollConfig }, batch: Valid[], report: ImportReport) {
  const { now } = options;
  await options.db.$transaction(
    async (tx) => {
      // Within the file: the first line of a slug, TRN or request id wins; later ones are refused.
      const refuse = (item: Valid, field: string, message: string) =>
        report.refused.push({ line: item.line, slug: item.doc.slug, errors: { [field]: [message] } });
      const existing = await tx.trainee.findMany({
        where: {
          OR: [{ slug: { in: batch.map((v) => v.doc.slug) } }, { trn: { in: batch.flatMap((v) => (v.doc.trn ? [v.doc.trn] : [])) } }],
        },
        select: { slug: true, trn: true, documentHash: true },
      });
      const bySlug = new Map(existing.map((t) => [t.slug, t]));
      const trnOwners = new Map(existing.flatMap((t) => (t.trn ? [[t.trn, t.slug] as const] : [])));
      const takenRequests = new Set(
        (
          await tx.trnRequest.findMany({
            where: { requestId: { in: batch.flatMap((v) => (v.request ? [v.request.requestId] : [])) } },
            select: { requestId: true },
          })
        ).map((r) => r.requestId),
      );
      const seen = new Set<string>();
      const fresh: Valid[] = [];
      for (const item of batch) {
        const { doc } = item;
        const stored = bySlug.get(doc.slug);
        if (stored) {
          if (stored.documentHash === item.hash) report.unchanged++;
          else refuse(item, "document.slug", "is in trs-sync already with other data: send changes through the upstream API instead");
          continue;
        }
        if (seen.has(doc.slug)) {
          refuse(item, "document.slug", "appears twice in the file");
          continue;
        }
        if (doc.trn && (trnOwners.has(doc.trn) || seen.has(`trn:${doc.trn}`))) {
          refuse(item, "document.trn", "belongs to another trainee");
          continue;
        }
        if (item.request && (takenRequests.has(item.request.requestId) || seen.has(`request:${item.request.requestId}`))) {
          refuse(item, "trnRequest.requestId", "belongs to another TRN request");
          continue;
        }
        seen.add(doc.slug);
        if (doc.trn) seen.add(`trn:${doc.trn}`);
        if (item.request) seen.add(`request:${item.request.requestId}`);
        fresh.push(item);
      }
      if (!fresh.length) return;

      const trainees: Record<string, unknown>[] = [];
      const requests: Record<string, unknown>[] = [];
      const tasks: Record<string, unknown>[] = [];
      const events: Record<string, unknown>[] = [];
      for (const { doc, hash, request } of fresh) {
        const id = randomUUID();
        const fields = rowFields(doc);
        trainees.push({
          id,
          slug: doc.slug,
          trn: doc.trn ?? null,
          state: doc.state,
          first_names: fields.firstNames,
          middle_names: fields.middleNames,
          last_name: fields.lastName,
          date_of_birth: fields.dateOfBirth,
          sex: fields.sex,
          email: fields.email,
          training_route: fields.trainingRoute,
          provider_ukprn: fields.providerUkprn,
          provider_name: fields.providerName,
          itt_start_date: fields.ittStartDate,
          itt_end_date: fields.ittEndDate,
          trainee_start_date: fields.traineeStartDate,
          study_mode: fields.studyMode,
          course_subjects: fields.courseSubjects,
          course_min_age: fields.courseMinAge,
          course_max_age: fields.courseMaxAge,
          itt_qualification_aim: fields.ittQualificationAim,
          national_insurance_number: fields.nationalInsuranceNumber,
          training_country: fields.trainingCountry,
          outcome_date: fields.outcomeDate,
          withdraw_date: fields.withdrawDate,
          document_hash: hash,
          submitted_for_trn_at: request?.submittedAt ?? null,
          awarded_at: doc.state === "awarded" && doc.outcomeDate ? dateOnly(doc.outcomeDate) : null,
          created_at: now,
          updated_at: now,
        });
        if (request) {
          const requestRowId = randomUUID();
          requests.push({
            id: requestRowId,
            trainee_id: id,
            request_id: request.requestId,
            active_trainee_id: id,
            state: "pending",
            submitted_at: request.submittedAt,
            deadline_at: trnDeadline(request.submittedAt, options.trnPoll),
            next_poll_at: now,
            poll_count: 0,
            created_at: now,
            updated_at: now,
          });
          tasks.push({
            trainee_id: id,
            kind: "poll_trn",
            phase: phaseOf.poll_trn,
            state: "pending",
            trn_request_id: requestRowId,
            available_at: now,
            attempts: 0,
            claim_count: 0,
            stalls: 0,
            created_at: now,
            updated_at: now,
          });
        }
        events.push({
          trainee_id: id,
          kind: "trainee_imported",
          outcome: "info",
          message: `imported from Register as ${doc.state}${doc.trn ? ` with TRN ${doc.trn}` : ""}${
            request ? `; polling TRN request ${request.requestId} (submitted ${request.submittedAt.toISOString()})` : ""
          }; nothing sent`,
          created_at: now,
        });
      }
      await insertRows(tx, "trainees", trainees);
      await insertRows(tx, "trn_requests", requests);
      await insertRows(tx, "sync_tasks", tasks);
      await insertRows(tx, "sync_events", events);
      report.imported += trainees.length;
      report.polling += requests.length;
    },
    { timeout: 120_000 },
  );
}
