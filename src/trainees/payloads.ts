/**
 * Request bodies for TRS (v3, X-Api-Version 20250627) and DQT (v2), built from the stored trainee
 * alone. Pure: no clock, no I/O, so a job can hash a body and skip a call the API already accepted,
 * and tests can check every mapping without HTTP. Field rules: reference/trs-api.md §3,
 * reference/register-trainee-teachers.md §5.1, §6 and §7.
 *
 * Each builder throws InvalidTraineeError (naming the field) when the trainee lacks what the API
 * needs, before anything is sent.
 */
import type { Trainee } from "../generated/prisma/client.js";
import { InvalidTraineeError } from "../clients/teacher-records.js";
import {
  assessmentOnlyRoute,
  dqtGender,
  dqtIttQualificationType,
  dqtProgrammeTypes,
  estimatedEndDate,
  isTrainingRoute,
  isoDate,
  subjectReferences,
  trsDegreeTypeId,
  trsGender,
  trsRouteTypeIds,
  type DqtGender,
  type DqtProgrammeType,
  type TrainingRoute,
  type TrsGender,
} from "./code-sets.js";

// ---------------------------------------------------------------------------------------------
// Shared checks

export function requireTrn(trainee: Trainee): string {
  if (!trainee.trn) throw new InvalidTraineeError("the trainee has no TRN yet", "trn");
  return trainee.trn;
}

export function requireRoute(trainee: Trainee): TrainingRoute {
  if (!trainee.trainingRoute) throw new InvalidTraineeError("the trainee has no training route", "trainingRoute");
  if (!isTrainingRoute(trainee.trainingRoute)) {
    throw new InvalidTraineeError(`unknown training route "${trainee.trainingRoute}"`, "trainingRoute");
  }
  return trainee.trainingRoute;
}

export function requireProviderUkprn(trainee: Trainee): string {
  if (!trainee.providerUkprn) throw new InvalidTraineeError("the trainee has no provider UKPRN", "providerUkprn");
  return trainee.providerUkprn;
}

function requireOutcomeDate(trainee: Trainee): string {
  if (!trainee.outcomeDate) throw new InvalidTraineeError("an award needs the outcome date", "outcomeDate");
  return isoDate(trainee.outcomeDate);
}

/**
 * Training start and end dates: start = ittStartDate ?? traineeStartDate, end = ittEndDate ?? an
 * estimate from that same start (§6.2), so that the end never falls before the start (TRS refuses
 * that: "Training end date cannot be before training start date").
 */
export function trainingDates(trainee: Trainee): { start: string; end: string } {
  const start = trainee.ittStartDate ?? trainee.traineeStartDate;
  if (!start) throw new InvalidTraineeError("the trainee has neither an ITT start date nor a trainee start date", "ittStartDate");
  const end = trainee.ittEndDate ?? estimatedEndDate({ ...trainee, traineeStartDate: start });
  return { start: isoDate(start), end: isoDate(end!) };
}

function hasAgeRange(trainee: Trainee): trainee is Trainee & { courseMinAge: number; courseMaxAge: number } {
  return trainee.courseMinAge != null && trainee.courseMaxAge != null;
}

// ---------------------------------------------------------------------------------------------
// TRS

/** `POST /v3/trn-requests` body (trs-api.md §3a, the 20250203+ shape). */
export interface TrsTrnRequestBody {
  requestId: string;
  person: {
    firstName: string;
    middleName: string | null;
    lastName: string;
    dateOfBirth: string;
    /** only the first is used; omitted when the trainee has no email */
    emailAddresses?: string[];
    nationalInsuranceNumber: string | null;
    gender: TrsGender | null;
  };
  identityVerified: false;
  oneLoginUserSubject: null;
}

export function trsTrnRequestBody(requestId: string, trainee: Trainee): TrsTrnRequestBody {
  return {
    requestId,
    person: {
      firstName: trainee.firstNames,
      middleName: trainee.middleNames ?? null,
      lastName: trainee.lastName,
      dateOfBirth: isoDate(trainee.dateOfBirth),
      // TRS refuses a null entry ("Email address cannot be null."), so no email means no array
      ...(trainee.email ? { emailAddresses: [trainee.email] } : {}),
      nationalInsuranceNumber: trainee.nationalInsuranceNumber ?? null,
      gender: trsGender(trainee.sex),
    },
    identityVerified: false,
    oneLoginUserSubject: null,
  };
}

/**
 * `PUT /v3/persons/{trn}` body (PII update). TRS replaces every member on each call
 * (V3/Operations/SetPii.cs): a missing or null email, National Insurance number or gender is
 * cleared, a null middle name becomes "". So every member is sent: the email and NINO trs-sync
 * holds, or else the ones TRS holds (`keep`: read first), and the gender, which TRS never shows
 * back and which trs-sync therefore always holds (the document needs a sex once submitted).
 * `emailAddress` is a single string: Register sent `emailAddresses`, which TRS ignores (and so
 * cleared every email).
 */
export interface TrsPersonBody {
  firstName: string;
  middleName: string;
  lastName: string;
  dateOfBirth: string;
  emailAddress: string | null;
  nationalInsuranceNumber: string | null;
  gender: TrsGender;
}

export function trsPersonCall(trainee: Trainee): { body: TrsPersonBody; keep: ("emailAddress" | "nationalInsuranceNumber")[] } {
  requireTrn(trainee);
  const gender = trsGender(trainee.sex);
  if (!gender) {
    throw new InvalidTraineeError("the trainee has no sex: TRS would clear the gender it holds, and never shows it back", "sex");
  }
  const keep: ("emailAddress" | "nationalInsuranceNumber")[] = [];
  if (!trainee.email) keep.push("emailAddress");
  if (!trainee.nationalInsuranceNumber) keep.push("nationalInsuranceNumber");
  return {
    body: {
      firstName: trainee.firstNames,
      middleName: trainee.middleNames ?? "",
      lastName: trainee.lastName,
      dateOfBirth: isoDate(trainee.dateOfBirth),
      emailAddress: trainee.email ?? null,
      nationalInsuranceNumber: trainee.nationalInsuranceNumber ?? null,
      gender,
    },
    keep,
  };
}

export type TrsRouteStatus = "InTraining" | "UnderAssessment" | "Deferred" | "Withdrawn" | "Holds";

/**
 * The route status an operation sends (trs-api.md §3d, Register's `CodeSets::Trs.training_status`).
 * withdraw → Withdrawn; award → Holds. An update mirrors the trainee: Deferred when deferred,
 * Withdrawn when already withdrawn (an edit must not reinstate a withdrawn route: TRS accepts
 * InTraining over Withdrawn), otherwise UnderAssessment on the assessment-only route and InTraining
 * on every other. A recommended trainee is sent InTraining by an update; Holds comes with the award,
 * which is ordered after it (CONTRACT.md §6), unlike Register which re-sent Holds on every edit.
 */
export function trsRouteStatus(operation: "update" | "withdraw" | "award", trainee: Trainee): TrsRouteStatus {
  if (operation === "withdraw") return "Withdrawn";
  if (operation === "award") return "Holds";
  if (trainee.state === "deferred") return "Deferred";
  if (trainee.state === "withdrawn") return "Withdrawn";
  return trainee.trainingRoute === assessmentOnlyRoute ? "UnderAssessment" : "InTraining";
}

/**
 * UK routes must send "GB" (SetRouteToProfessionalStatusRequestValidator); iQTS sends where the
 * trainee trained. TRS keeps the first country a route receives and ignores it on later PUTs (it
 * still checks the code), so an iQTS trainee without one is refused rather than recorded as
 * trained in the UK for good.
 */
export function trainingCountryReference(trainee: Trainee, route: TrainingRoute): string {
  if (route !== "iqts") return "GB";
  if (!trainee.trainingCountry) throw new InvalidTraineeError("an iQTS trainee needs the country of training", "trainingCountry");
  return trainee.trainingCountry;
}

/** `PUT /v3/persons/{trn}/routes-to-professional-statuses/{slug}` body (trs-api.md §3c). */
export interface TrsRouteBody {
  routeToProfessionalStatusTypeId: string;
  status: TrsRouteStatus;
  /** only with Holds: required then, refused otherwise */
  holdsFrom?: string;
  trainingStartDate: string;
  trainingEndDate: string;
  trainingSubjectReferences: string[];
  trainingAgeSpecialism?: { type: "Range"; from: number; to: number };
  trainingCountryReference: string;
  trainingProviderUkprn: string;
  degreeTypeId?: string;
}

export function trsRouteBody(trainee: Trainee, status: TrsRouteStatus): TrsRouteBody {
  requireTrn(trainee);
  const route = requireRoute(trainee);
  const ukprn = requireProviderUkprn(trainee);
  const holdsFrom = status === "Holds" ? requireOutcomeDate(trainee) : undefined;
  const dates = trainingDates(trainee);
  const degreeTypeId = trsDegreeTypeId(trainee.ittQualificationAim);
  return {
    routeToProfessionalStatusTypeId: trsRouteTypeIds[route],
    status,
    ...(holdsFrom ? { holdsFrom } : {}),
    trainingStartDate: dates.start,
    trainingEndDate: dates.end,
    // [] rather than null: null is probably refused (trs-api.md §3c)
    trainingSubjectReferences: subjectReferences(trainee.courseSubjects),
    ...(hasAgeRange(trainee)
      ? { trainingAgeSpecialism: { type: "Range" as const, from: trainee.courseMinAge, to: trainee.courseMaxAge } }
      : {}),
    trainingCountryReference: trainingCountryReference(trainee, route),
    trainingProviderUkprn: ukprn,
    // isExemptFromInduction is never sent: it must be null outside overseas routes.
    ...(degreeTypeId ? { degreeTypeId } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// DQT (legacy v2, trs-api.md §3 "DQT v2" parts)

export interface DqtInitialTeacherTraining {
  providerUkprn: string;
  programmeStartDate: string;
  programmeEndDate: string;
  programmeType: DqtProgrammeType;
  subject1?: string;
  subject2?: string;
  subject3?: string;
  ageRangeFrom?: number;
  ageRangeTo?: number;
  ittQualificationType?: string;
}

export type DqtOutcome = "Deferred" | "InTraining" | "UnderAssessment";

function dqtProgrammeType(route: TrainingRoute): DqtProgrammeType {
  const type = dqtProgrammeTypes[route];
  if (!type) throw new InvalidTraineeError(`the route ${route} has no DQT programme type`, "trainingRoute");
  return type;
}

export function dqtInitialTeacherTraining(trainee: Trainee): DqtInitialTeacherTraining {
  const route = requireRoute(trainee);
  const programmeType = dqtProgrammeType(route);
  const providerUkprn = requireProviderUkprn(trainee);
  const dates = trainingDates(trainee);
  const [subject1, subject2, subject3] = subjectReferences(trainee.courseSubjects);
  const ittQualificationType = dqtIttQualificationType(trainee.ittQualificationAim, route);
  return {
    providerUkprn,
    programmeStartDate: dates.start,
    programmeEndDate: dates.end,
    programmeType,
    ...(subject1 ? { subject1 } : {}),
    ...(subject2 ? { subject2 } : {}),
    ...(subject3 ? { subject3 } : {}),
    ...(hasAgeRange(trainee) ? { ageRangeFrom: trainee.courseMinAge, ageRangeTo: trainee.courseMaxAge } : {}),
    ...(ittQualificationType ? { ittQualificationType } : {}),
  };
}

/** `PUT /v2/trn-requests/{id}` body (trs-api.md §3a DQT; Register's Dqt::Params::TrnRequest). */
export interface DqtTrnRequestBody {
  firstName: string;
  middleName?: string;
  lastName: string;
  birthDate: string;
  emailAddress?: string;
  genderCode: DqtGender;
  slugId: string;
  initialTeacherTraining: DqtInitialTeacherTraining;
}

export function dqtTrnRequestBody(trainee: Trainee): DqtTrnRequestBody {
  return {
    firstName: trainee.firstNames,
    ...(trainee.middleNames ? { middleName: trainee.middleNames } : {}),
    lastName: trainee.lastName,
    birthDate: isoDate(trainee.dateOfBirth),
    ...(trainee.email ? { emailAddress: trainee.email } : {}),
    genderCode: dqtGender(trainee.sex),
    slugId: trainee.slug,
    initialTeacherTraining: dqtInitialTeacherTraining(trainee),
  };
}

/**
 * DQT update outcome (register-trainee-teachers.md §7.7): Deferred when deferred, UnderAssessment on
 * the assessment-only route or InTraining otherwise while in training; none for withdrawn,
 * recommended or awarded trainees, since DQT accepts only these three values here.
 */
export function dqtUpdateOutcome(trainee: Trainee): DqtOutcome | null {
  if (trainee.state === "deferred") return "Deferred";
  if (trainee.state === "draft" || trainee.state === "submitted_for_trn" || trainee.state === "trn_received") {
    return trainee.trainingRoute === assessmentOnlyRoute ? "UnderAssessment" : "InTraining";
  }
  return null;
}

/** `PATCH /v2/teachers/update/{trn}` body: ITT details with outcome, and the PII Option fields. */
export interface DqtUpdateBody {
  initialTeacherTraining: DqtInitialTeacherTraining & { outcome?: DqtOutcome };
  firstName: string;
  middleName: string;
  lastName: string;
  emailAddress?: string;
  genderCode: DqtGender;
  dateOfBirth: string;
}

export function dqtUpdateBody(trainee: Trainee): DqtUpdateBody {
  requireTrn(trainee);
  const outcome = dqtUpdateOutcome(trainee);
  return {
    initialTeacherTraining: { ...dqtInitialTeacherTraining(trainee), ...(outcome ? { outcome } : {}) },
    firstName: trainee.firstNames,
    middleName: trainee.middleNames ?? "",
    lastName: trainee.lastName,
    ...(trainee.email ? { emailAddress: trainee.email } : {}),
    genderCode: dqtGender(trainee.sex),
    dateOfBirth: isoDate(trainee.dateOfBirth),
  };
}

/** `PUT /v2/teachers/{trn}/itt-outcome` body (trs-api.md §3d DQT). */
export type DqtIttOutcomeBody =
  { ittProviderUkprn: string; outcome: "Withdrawn" } | { ittProviderUkprn: string; outcome: "Pass"; assessmentDate: string };

export function dqtIttOutcomeBody(operation: "withdraw" | "award", trainee: Trainee): DqtIttOutcomeBody {
  requireTrn(trainee);
  const ittProviderUkprn = requireProviderUkprn(trainee);
  if (operation === "withdraw") return { ittProviderUkprn, outcome: "Withdrawn" };
  return { ittProviderUkprn, outcome: "Pass", assessmentDate: requireOutcomeDate(trainee) };
}
