/**
 * Conversions between the upstream document and the stored Trainee row, and the canonical hash
 * that makes a repeated PUT a no-op.
 */
import { createHash } from "node:crypto";
import type { Trainee } from "../generated/prisma/client.js";
import type { TraineeDocument } from "./document.js";

export const dateOnly = (text: string) => new Date(`${text}T00:00:00.000Z`);
export const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const day = (date: Date | null) => (date ? isoDay(date) : null);

/** The document fields compared to decide whether anything but the state changed. */
export const documentFields = [
  "firstNames",
  "middleNames",
  "lastName",
  "dateOfBirth",
  "sex",
  "email",
  "trainingRoute",
  "providerUkprn",
  "providerName",
  "ittStartDate",
  "ittEndDate",
  "traineeStartDate",
  "studyMode",
  "courseSubjects",
  "courseMinAge",
  "courseMaxAge",
  "ittQualificationAim",
  "nationalInsuranceNumber",
  "trainingCountry",
  "outcomeDate",
  "withdrawDate",
] as const satisfies readonly (keyof TraineeDocument)[];

type Comparable = Record<(typeof documentFields)[number], unknown>;

/** The document as stored (dates back to YYYY-MM-DD), without state, slug and TRN. */
export function storedFields(trainee: Trainee) {
  return {
    firstNames: trainee.firstNames,
    middleNames: trainee.middleNames,
    lastName: trainee.lastName,
    dateOfBirth: isoDay(trainee.dateOfBirth),
    // stored as text, written only from validated documents
    sex: trainee.sex as NonNullable<TraineeDocument["sex"]> | null,
    email: trainee.email,
    trainingRoute: trainee.trainingRoute as NonNullable<TraineeDocument["trainingRoute"]> | null,
    providerUkprn: trainee.providerUkprn,
    providerName: trainee.providerName,
    ittStartDate: day(trainee.ittStartDate),
    ittEndDate: day(trainee.ittEndDate),
    traineeStartDate: day(trainee.traineeStartDate),
    studyMode: trainee.studyMode as NonNullable<TraineeDocument["studyMode"]> | null,
    courseSubjects: trainee.courseSubjects,
    courseMinAge: trainee.courseMinAge,
    courseMaxAge: trainee.courseMaxAge,
    ittQualificationAim: trainee.ittQualificationAim,
    nationalInsuranceNumber: trainee.nationalInsuranceNumber,
    trainingCountry: trainee.trainingCountry,
    outcomeDate: day(trainee.outcomeDate),
    withdrawDate: day(trainee.withdrawDate),
  };
}

export function documentComparable(doc: TraineeDocument): Comparable {
  const out = {} as Comparable;
  for (const field of documentFields) out[field] = doc[field] ?? null;
  out.courseSubjects = doc.courseSubjects ?? [];
  return out;
}

/** Names of the fields whose value differs (values are personal data: only names go on the timeline). */
export function changedFields(before: Comparable, after: Comparable): string[] {
  return documentFields.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value ?? null;
}

/** sha256 of a value's canonical JSON (keys sorted, undefined as null). */
export function hashOf(value: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(canonical(value)))
    .digest("hex");
}

export function documentHash(doc: TraineeDocument): string {
  return hashOf({ ...documentComparable(doc), state: doc.state, trn: doc.trn ?? null, slug: doc.slug });
}

/** Row columns for a document (state and TRN are decided separately). */
export function rowFields(doc: TraineeDocument) {
  const maybeDate = (text: string | null | undefined) => (text ? dateOnly(text) : null);
  return {
    firstNames: doc.firstNames,
    middleNames: doc.middleNames ?? null,
    lastName: doc.lastName,
    dateOfBirth: dateOnly(doc.dateOfBirth),
    sex: doc.sex ?? null,
    email: doc.email ?? null,
    trainingRoute: doc.trainingRoute ?? null,
    providerUkprn: doc.providerUkprn ?? null,
    providerName: doc.providerName ?? null,
    ittStartDate: maybeDate(doc.ittStartDate),
    ittEndDate: maybeDate(doc.ittEndDate),
    traineeStartDate: maybeDate(doc.traineeStartDate),
    studyMode: doc.studyMode ?? null,
    courseSubjects: doc.courseSubjects ?? [],
    courseMinAge: doc.courseMinAge ?? null,
    courseMaxAge: doc.courseMaxAge ?? null,
    ittQualificationAim: doc.ittQualificationAim ?? null,
    nationalInsuranceNumber: doc.nationalInsuranceNumber ?? null,
    trainingCountry: doc.trainingCountry ?? null,
    outcomeDate: maybeDate(doc.outcomeDate),
    withdrawDate: maybeDate(doc.withdrawDate),
  };
}

/** The stored trainee as the upstream API returns it (CONTRACT.md §4 GET). */
export function traineeView(trainee: Trainee) {
  return {
    slug: trainee.slug,
    ...storedFields(trainee),
    state: trainee.state,
    trn: trainee.trn,
    awardedAt: day(trainee.awardedAt),
    submittedForTrnAt: trainee.submittedForTrnAt?.toISOString() ?? null,
    recommendedForAwardAt: trainee.recommendedForAwardAt?.toISOString() ?? null,
    discardedAt: trainee.discardedAt?.toISOString() ?? null,
    createdAt: trainee.createdAt.toISOString(),
    updatedAt: trainee.updatedAt.toISOString(),
  };
}
