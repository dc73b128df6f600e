/**
 * The request bodies DQT v2 shares between `PUT /v2/trn-requests` and `PATCH /v2/teachers/update`
 * (trs-api.md §3a, §3c; dqt-api-v2.openapi.json), and their checks. DQT reports everything,
 * lookups included, as validation messages without an errorCode.
 */
import { z } from "zod";
import type { Marker } from "./markers.js";
import { dqtFieldMessages, type ErrorMap } from "./problems.js";
import { dqtIttQualificationAims, dqtProgrammeTypes, isKnownCountry, isKnownSubject, isKnownUkprn } from "./reference-data.js";
import { addError, dateOnly, jsonObject, messages } from "./request-parsing.js";

const text = z.string().nullish();

export const ittSchema = jsonObject({
  providerUkprn: text,
  programmeStartDate: dateOnly.nullish(),
  programmeEndDate: dateOnly.nullish(),
  programmeType: z.enum(dqtProgrammeTypes).nullish(),
  subject1: text,
  subject2: text,
  subject3: text,
  ageRangeFrom: z.number().int().nullish(),
  ageRangeTo: z.number().int().nullish(),
  ittQualificationType: text,
  ittQualificationAim: z.enum(dqtIttQualificationAims).nullish(),
  trainingCountryCode: text,
  /** PATCH update only */
  outcome: z.enum(["Deferred", "InTraining", "UnderAssessment"]).nullish(),
});

export const qualificationSchema = jsonObject({
  providerUkprn: text,
  countryCode: text,
  subject: text,
  subject2: text,
  subject3: text,
  class: text,
  date: dateOnly.nullish(),
  heQualificationType: text,
});

export type IttRequest = z.infer<typeof ittSchema>;
export type QualificationRequest = z.infer<typeof qualificationSchema>;

/** The ITT rules of DQT's GetOrCreateTrnRequestValidator for a trainee (not an overseas teacher). */
export function validateItt(errors: ErrorMap, itt: IttRequest | null | undefined, overseas: boolean): void {
  const key = "initialTeacherTraining";
  if (!itt) return addError(errors, key, messages.notEmpty(key));
  if (!overseas && !itt.providerUkprn?.trim()) addError(errors, `${key}.providerUkprn`, messages.notEmpty(`${key}.providerUkprn`));
  if (!itt.programmeStartDate) addError(errors, `${key}.programmeStartDate`, messages.notEmpty(`${key}.programmeStartDate`));
  if (!itt.programmeEndDate) addError(errors, `${key}.programmeEndDate`, messages.notEmpty(`${key}.programmeEndDate`));
  if (!overseas && !itt.programmeType) addError(errors, `${key}.programmeType`, messages.notEmpty(`${key}.programmeType`));
  const { ageRangeFrom: from, ageRangeTo: to } = itt;
  // The age messages are DQT string resources whose exact wording is unconfirmed.
  if (from != null && (from < 0 || from > 19)) addError(errors, `${key}.ageRangeFrom`, "Age must be 0 to 19 inclusive.");
  if (to != null && (to < 0 || to > 19)) addError(errors, `${key}.ageRangeTo`, "Age must be 0 to 19 inclusive.");
  else if (to != null && from != null && from > to) addError(errors, `${key}.ageRangeTo`, "Age to cannot be less than age from.");
  const iqts = itt.programmeType === "InternationalQualifiedTeacherStatus";
  const countryKey = `${key}.trainingCountryCode`;
  if (overseas || iqts) {
    if (!itt.trainingCountryCode) addError(errors, countryKey, messages.notEmpty(countryKey));
  } else if (itt.trainingCountryCode) {
    addError(errors, countryKey, messages.mustBeEmpty(countryKey));
  }
}

/** The outcome rules of DQT's update (trs-api.md §3c): AssessmentOnlyRoute decides which are allowed. */
export function validateOutcome(errors: ErrorMap, itt: IttRequest): void {
  const key = "initialTeacherTraining.outcome";
  const assessmentOnly = itt.programmeType === "AssessmentOnlyRoute";
  if (itt.outcome === "InTraining" && assessmentOnly) addError(errors, key, dqtFieldMessages.inTrainingNotForAssessmentOnly);
  if (itt.outcome === "UnderAssessment" && !assessmentOnly) addError(errors, key, dqtFieldMessages.underAssessmentOnlyForAssessmentOnly);
}

/** DQT's reference-data lookups: unknown organisations, subjects and countries (see reference-data.ts). */
export function lookupErrors(
  itt: IttRequest | null | undefined,
  qualification: QualificationRequest | null | undefined,
  found: ReadonlySet<Marker>,
): ErrorMap {
  const errors: ErrorMap = {};
  const subjectCheck = (key: string, subject: string | null | undefined) => {
    if (subject && !isKnownSubject(subject)) addError(errors, key, dqtFieldMessages.subjectNotFound);
  };
  if (itt) {
    if (itt.providerUkprn && (!isKnownUkprn(itt.providerUkprn) || found.has("badukprn"))) {
      addError(errors, "initialTeacherTraining.providerUkprn", dqtFieldMessages.organisationNotFound);
    }
    subjectCheck("initialTeacherTraining.subject1", itt.subject1);
    subjectCheck("initialTeacherTraining.subject2", itt.subject2);
    subjectCheck("initialTeacherTraining.subject3", itt.subject3);
    if (itt.trainingCountryCode && !isKnownCountry(itt.trainingCountryCode))
      addError(errors, "initialTeacherTraining.trainingCountryCode", dqtFieldMessages.countryNotFound);
  }
  if (qualification) {
    if (qualification.providerUkprn && !isKnownUkprn(qualification.providerUkprn))
      addError(errors, "qualification.providerUkprn", dqtFieldMessages.organisationNotFound);
    if (qualification.countryCode && !isKnownCountry(qualification.countryCode))
      addError(errors, "qualification.countryCode", dqtFieldMessages.countryNotFound);
    subjectCheck("qualification.subject", qualification.subject);
    subjectCheck("qualification.subject2", qualification.subject2);
    subjectCheck("qualification.subject3", qualification.subject3);
  }
  return errors;
}

/** The subjects of an ITT request, in order, without gaps. */
export function ittSubjects(itt: IttRequest): string[] {
  return [itt.subject1, itt.subject2, itt.subject3].filter((subject): subject is string => Boolean(subject));
}
