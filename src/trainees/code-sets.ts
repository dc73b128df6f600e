/**
 * Mapping tables from the trainee document to the values TRS (v3) and DQT (v2) accept, and the
 * estimated end date rule. Data only, plus small lookups; the payload builders (payloads.ts) use
 * them. Every table follows Register's `app/lib/code_sets/trs.rb` and its DQT predecessor
 * (reference/register-trainee-teachers.md §7), checked against reference/trs-api.md §7.
 */
import type { Trainee } from "../generated/prisma/client.js";
import { trainingRoutes, type TrainingRoute } from "./document.js";
import { findQualificationAim } from "./qualification-aims.js";

export { trainingRoutes, type TrainingRoute };

export function isTrainingRoute(value: string | null | undefined): value is TrainingRoute {
  return value != null && (trainingRoutes as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// Routes

/**
 * Route key → TRS `routeToProfessionalStatusTypeId` (register-trainee-teachers.md §7.3, all in the
 * permitted list of trs-api.md §7). Lower-case: TRS compares GUIDs ignoring case, and one spelling
 * keeps payload hashes stable (Register had teacher_degree_apprenticeship in upper case).
 */
export const trsRouteTypeIds: Readonly<Record<TrainingRoute, string>> = {
  assessment_only: "57b86cef-98e2-4962-a74a-d47c7a34b838",
  early_years_assessment_only: "d9eef3f8-fde6-4a3f-a361-f6655a42fa1e",
  early_years_postgrad: "dbc4125b-9235-41e4-abd2-baabbf63f829",
  early_years_salaried: "4477e45d-c531-4c63-9f4b-e157766366fb",
  early_years_undergrad: "c97c0fd2-fd84-4949-97c7-b0e2422fb3c8",
  hpitt_postgrad: "bfef20b2-5ac4-486d-9493-e5a4538e1be9",
  iqts: "d0b60864-ab1c-4d49-a5c2-ff4bd9872ee1",
  opt_in_undergrad: "20f67e38-f117-4b42-bbfc-5812aa717b94",
  pg_teaching_apprenticeship: "6987240e-966e-485f-b300-23b54937fb3a",
  provider_led_postgrad: "97497716-5ac5-49aa-a444-27fa3e2c152a",
  provider_led_undergrad: "53a7fbda-25fd-4482-9881-5cf65053888d",
  school_direct_salaried: "12a742c3-1cd4-43b7-a2fa-1000bd4cc373",
  school_direct_tuition_fee: "d9490e58-acdc-4a38-b13e-5a5c21417737",
  teach_first: "5b7f5e90-1ca6-4529-baa0-dfba68e698b8",
  teacher_degree_apprenticeship: "5d4c01c1-0841-4306-b49c-48ad6499fdc0",
};

/** DQT `IttProgrammeType` names used by the route map (dqt-api-v2.openapi.json, plus later values). */
export type DqtProgrammeType =
  | "AssessmentOnlyRoute"
  | "EYITTAssessmentOnly"
  | "EYITTGraduateEntry"
  | "EYITTGraduateEmploymentBased"
  | "EYITTUndergraduate"
  | "HighPotentialITT"
  | "InternationalQualifiedTeacherStatus"
  | "UndergraduateOptIn"
  | "Apprenticeship"
  | "PrimaryAndSecondaryPostgraduateFeeFunded"
  | "PrimaryAndSecondaryUndergraduateFeeFunded"
  | "SchoolDirectTrainingProgrammeSalaried"
  | "SchoolDirectTrainingProgramme";

/**
 * Route key → DQT `initialTeacherTraining.programmeType` (register-trainee-teachers.md §7.3).
 * HighPotentialITT and the two PrimaryAndSecondary…FeeFunded values were added to DQT after the
 * March 2023 spec we hold (dqt-api-v2.openapi.json lists ProviderLed… instead); Register sent these
 * names to DQT until it was switched off, so they are what DQT accepted. teach_first and
 * teacher_degree_apprenticeship have no DQT programme type: such trainees cannot be sent to DQT.
 */
export const dqtProgrammeTypes: Readonly<Record<TrainingRoute, DqtProgrammeType | null>> = {
  assessment_only: "AssessmentOnlyRoute",
  early_years_assessment_only: "EYITTAssessmentOnly",
  early_years_postgrad: "EYITTGraduateEntry",
  early_years_salaried: "EYITTGraduateEmploymentBased",
  early_years_undergrad: "EYITTUndergraduate",
  hpitt_postgrad: "HighPotentialITT",
  iqts: "InternationalQualifiedTeacherStatus",
  opt_in_undergrad: "UndergraduateOptIn",
  pg_teaching_apprenticeship: "Apprenticeship",
  provider_led_postgrad: "PrimaryAndSecondaryPostgraduateFeeFunded",
  provider_led_undergrad: "PrimaryAndSecondaryUndergraduateFeeFunded",
  school_direct_salaried: "SchoolDirectTrainingProgrammeSalaried",
  school_direct_tuition_fee: "SchoolDirectTrainingProgramme",
  teach_first: null,
  teacher_degree_apprenticeship: null,
};

/** Routes that lead to Early Years Teacher Status; every other route leads to QTS (trs-api.md §7). */
export const eytsRoutes: ReadonlySet<TrainingRoute> = new Set<TrainingRoute>([
  "early_years_assessment_only",
  "early_years_postgrad",
  "early_years_salaried",
  "early_years_undergrad",
]);

export function professionalStatusOf(route: TrainingRoute): "QTS" | "EYTS" {
  return eytsRoutes.has(route) ? "EYTS" : "QTS";
}

/**
 * The one route whose in-training status is `UnderAssessment` instead of `InTraining`: TRS accepts
 * UnderAssessment only for Assessment Only (57b86cef…) and refuses InTraining there (trs-api.md
 * §3c). early_years_assessment_only is not included, as in Register (§6.2).
 */
export const assessmentOnlyRoute: TrainingRoute = "assessment_only";

// ---------------------------------------------------------------------------------------------
// Gender

export type Sex = "male" | "female" | "other" | "prefer_not_to_say" | "sex_not_provided";
export type TrsGender = "Male" | "Female" | "Other";
export type DqtGender = "Male" | "Female" | "Other" | "NotProvided" | "NotAvailable";

/** Document `sex` → TRS `gender` (register-trainee-teachers.md §5.1): TRS has only three values. */
export const trsGenders: Readonly<Record<Sex, TrsGender>> = {
  male: "Male",
  female: "Female",
  other: "Other",
  prefer_not_to_say: "Other",
  sex_not_provided: "Other",
};

/** Document `sex` → DQT `genderCode` (register-trainee-teachers.md §5.1). */
export const dqtGenders: Readonly<Record<Sex, DqtGender>> = {
  male: "Male",
  female: "Female",
  other: "Other",
  prefer_not_to_say: "NotProvided",
  sex_not_provided: "NotAvailable",
};

/** TRS gender for a trainee's `sex`; null when unknown (TRS's gender is optional). */
export function trsGender(sex: string | null | undefined): TrsGender | null {
  return sex != null && Object.hasOwn(trsGenders, sex) ? trsGenders[sex as Sex] : null;
}

/**
 * DQT genderCode for a trainee's `sex`. DQT requires a genderCode on a TRN request, so an unknown
 * sex is sent as `NotAvailable`, the value Register used for "sex not provided".
 */
export function dqtGender(sex: string | null | undefined): DqtGender {
  return sex != null && Object.hasOwn(dqtGenders, sex) ? dqtGenders[sex as Sex] : "NotAvailable";
}

// ---------------------------------------------------------------------------------------------
// ITT qualification aim (degree type)

/** TRS degree type for an aim (code or wording); null when there is none (then omitted). */
export function trsDegreeTypeId(aim: string | null | undefined): string | null {
  return findQualificationAim(aim)?.trsDegreeTypeId ?? null;
}

/**
 * DQT ittQualificationType for an aim; an iQTS trainee without an aim is sent as
 * `InternationalQualifiedTeacherStatus`, as Register did. Null means omit.
 */
export function dqtIttQualificationType(aim: string | null | undefined, route: string | null | undefined): string | null {
  const found = findQualificationAim(aim);
  if (found) return found.dqtType;
  return route === "iqts" && !aim ? "InternationalQualifiedTeacherStatus" : null;
}

// ---------------------------------------------------------------------------------------------
// Subjects

/**
 * HESA subject codes agreed with the DQT/TRS team for subjects HESA has no single code for
 * (register-trainee-teachers.md §7.2). They are valid training-subject references in TRS and DQT.
 */
export const agreedSubjectCodes = {
  citizenship: "999001",
  physicalEducation: "999002",
  designAndTechnology: "999003",
} as const;

/** TRS allows at most 3 training subjects (trs-api.md §3c); DQT has subject1..3. */
export const maxSubjects = 3;

/**
 * The training subject references to send. The trainee document already carries HESA codes
 * (Register converted names to codes, with the three agreed exceptions above), so they pass
 * through unchanged, in order, blanks dropped, at most three.
 */
export function subjectReferences(courseSubjects: readonly string[] | null | undefined): string[] {
  return (courseSubjects ?? [])
    .map((code) => code.trim())
    .filter((code) => code !== "")
    .slice(0, maxSubjects);
}

// ---------------------------------------------------------------------------------------------
// Dates

/** `yyyy-MM-dd` of a date column (Prisma gives @db.Date as a Date at UTC midnight). */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Adds calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb), like Rails. */
export function addMonths(date: Date, months: number): Date {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(date.getUTCDate(), lastDay)));
}

/**
 * Course length in months for the estimated end date (register-trainee-teachers.md §6.2, Register's
 * `Trainee#estimated_course_duration`): 70 part-time provider-led undergrad, 34 full-time
 * provider-led undergrad, 22 opt-in undergrad or any part-time course, else 10. A provider-led
 * undergrad with no study mode falls through to 10, as in Register.
 */
export function estimatedCourseMonths(trainee: Pick<Trainee, "trainingRoute" | "studyMode">): number {
  const partTime = trainee.studyMode === "part_time";
  const fullTime = trainee.studyMode === "full_time";
  if (trainee.trainingRoute === "provider_led_undergrad" && partTime) return 70;
  if (trainee.trainingRoute === "provider_led_undergrad" && fullTime) return 34;
  if (trainee.trainingRoute === "opt_in_undergrad" || partTime) return 22;
  return 10;
}

/**
 * The end date sent when the document has no ITT end date: (traineeStartDate ?? ittStartDate) +
 * estimatedCourseMonths. Note the start preference is the reverse of the training start date sent
 * (ittStartDate first), as in Register. Null when there is no start date.
 */
export function estimatedEndDate(trainee: Pick<Trainee, "trainingRoute" | "studyMode" | "traineeStartDate" | "ittStartDate">): Date | null {
  const start = trainee.traineeStartDate ?? trainee.ittStartDate;
  return start ? addMonths(start, estimatedCourseMonths(trainee)) : null;
}
