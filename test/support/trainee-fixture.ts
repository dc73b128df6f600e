/**
 * A complete Prisma `Trainee` row with sensible values, for pure tests (payloads, clients).
 * Dates of @db.Date columns are UTC midnight, as Prisma returns them. Override any field.
 */
import type { Trainee } from "../../src/generated/prisma/client.js";

/** UTC midnight of `yyyy-MM-dd`, as Prisma returns a @db.Date column. */
export function day(text: string): Date {
  return new Date(`${text}T00:00:00.000Z`);
}

export function traineeFixture(overrides: Partial<Trainee> = {}): Trainee {
  return {
    id: "6f1c1e0a-3b0e-4a39-9d6f-2d3c7a9e5b11",
    slug: "AbCdEf123456GhJkLmNoPqRs",
    trn: "1234567",
    state: "trn_received",
    firstNames: "Ada Mary",
    middleNames: "Grace",
    lastName: "Lovelace",
    dateOfBirth: day("1990-05-17"),
    sex: "female",
    email: "ada.lovelace@example.com",
    trainingRoute: "provider_led_postgrad",
    providerUkprn: "10007799",
    providerName: "Example Teacher Training",
    ittStartDate: day("2025-09-01"),
    ittEndDate: day("2026-07-31"),
    traineeStartDate: day("2025-09-08"),
    studyMode: "full_time",
    courseSubjects: ["100425", "100403"],
    courseMinAge: 11,
    courseMaxAge: 16,
    ittQualificationAim: "Postgraduate Certificate in Education",
    nationalInsuranceNumber: "QQ123456C",
    trainingCountry: null,
    outcomeDate: null,
    withdrawDate: null,
    documentHash: "0".repeat(64),
    submittedForTrnAt: new Date("2025-08-20T10:00:00.000Z"),
    trnReceivedAt: new Date("2025-08-20T11:00:00.000Z"),
    recommendedForAwardAt: null,
    awardedAt: null,
    discardedAt: null,
    createdAt: new Date("2025-08-01T09:00:00.000Z"),
    updatedAt: new Date("2025-08-20T11:00:00.000Z"),
    ...overrides,
  };
}
