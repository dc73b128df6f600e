/**
 * DQT v2 teacher endpoints (trs-api.md §3c–§3e): `PATCH /v2/teachers/update/{trn}`,
 * `PUT /v2/teachers/{trn}/itt-outcome` and `GET /v2/teachers/{trn}`. Teachers are found by slugId
 * first, then by TRN and date of birth; query names match ignoring case (register sent
 * `birthDate`/`slugId`, the spec says `birthdate`/`slugid`).
 */
import type { Request, RequestHandler } from "express";
import { z } from "zod";
import { answeredByMarkers, type SandboxContext } from "./context.js";
import { ittSchema, ittSubjects, lookupErrors, qualificationSchema, validateItt, validateOutcome } from "./dqt-validation.js";
import { dqtFieldMessages, type ErrorMap, sendDqtError, sendEmpty, sendJson, sendNotFound, sendValidationProblem } from "./problems.js";
import { dqtGenders, dqtIttOutcomes, isEarlyYearsProgramme } from "./reference-data.js";
import { addError, dateOnly, isDateOnly, jsonObject, parseWith, peekString, queryValue, todayOf } from "./request-parsing.js";
import type { IttRecord } from "./state.js";

const updateSchema = jsonObject({
  initialTeacherTraining: ittSchema.nullish(),
  qualification: qualificationSchema.nullish(),
  husId: z.string().nullish(),
  firstName: z.string().nullish(),
  middleName: z.string().nullish(),
  lastName: z.string().nullish(),
  emailAddress: z.string().nullish(),
  genderCode: z.enum(dqtGenders).nullish(),
  dateOfBirth: dateOnly.nullish(),
});

const ittOutcomeSchema = jsonObject({
  ittProviderUkprn: z.string().nullish(),
  outcome: z.enum(dqtIttOutcomes),
  assessmentDate: dateOnly.nullish(),
});

/** The `birthdate` query parameter both endpoints require ("Birthdate is required."). */
function birthDateOf(req: Request, errors: ErrorMap): string | undefined {
  const birthDate = queryValue(req, "birthdate");
  if (!birthDate) addError(errors, "birthDate", "Birthdate is required.");
  else if (!isDateOnly(birthDate)) addError(errors, "birthdate", `The value '${birthDate}' is not valid.`);
  return birthDate;
}

export function updateTeacher(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const found = ctx.store.markersFor(trn, peekString(req.body, "lastName"));
    if (await answeredByMarkers(ctx, found, res)) return;
    const errors: ErrorMap = {};
    const birthDate = birthDateOf(req, errors);
    const parsed = parseWith(updateSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, { ...errors, ...parsed.errors });
    const { initialTeacherTraining: itt, qualification, ...pii } = parsed.value;
    validateItt(errors, itt, false);
    if (itt) validateOutcome(errors, itt);
    if (Object.keys(errors).length > 0 || !itt || !birthDate) return sendValidationProblem(res, errors);

    const person = found.has("notfound") ? undefined : ctx.store.findForDqt({ trn, birthDate, slugId: queryValue(req, "slugId") });
    if (!person) return sendDqtError(res, 10001);
    const lookups = lookupErrors(itt, qualification, found);
    if (Object.keys(lookups).length > 0) return sendValidationProblem(res, lookups);
    const earlyYears = isEarlyYearsProgramme(itt.programmeType!);
    if ((earlyYears ? person.eytsDate : person.qtsDate) !== null || found.has("awarded")) {
      return sendValidationProblem(res, { "initialTeacherTraining.programmeType": [dqtFieldMessages.alreadyHasQtsOrEyts] });
    }

    const existing = person.itt.find((record) => record.providerUkprn === itt.providerUkprn);
    const outcomeErrors: ErrorMap = {};
    if (existing && isEarlyYearsProgramme(existing.programmeType) !== earlyYears) {
      addError(outcomeErrors, "initialTeacherTraining.programmeType", dqtFieldMessages.programmeTypeCannotBeChanged);
    }
    if (existing?.result === "Withdrawn" && itt.outcome === "Deferred")
      addError(outcomeErrors, "initialTeacherTraining.outcome", dqtFieldMessages.cannotUnwithdrawToDeferred);
    if (existing?.result === "Fail" && itt.outcome)
      addError(outcomeErrors, "initialTeacherTraining.outcome", dqtFieldMessages.cannotChangeFailed);
    if (Object.keys(outcomeErrors).length > 0) return sendValidationProblem(res, outcomeErrors);

    const record: IttRecord = {
      providerUkprn: itt.providerUkprn!,
      programmeType: itt.programmeType!,
      programmeStartDate: itt.programmeStartDate!,
      programmeEndDate: itt.programmeEndDate!,
      result: itt.outcome ?? existing?.result ?? (itt.programmeType === "AssessmentOnlyRoute" ? "UnderAssessment" : "InTraining"),
      subjects: ittSubjects(itt),
      ageRangeFrom: itt.ageRangeFrom ?? null,
      ageRangeTo: itt.ageRangeTo ?? null,
    };
    if (existing) Object.assign(existing, record);
    else person.itt.push({ ...record });

    // Personal details are Option fields: only those present in the body change.
    if (pii.firstName) person.firstName = pii.firstName;
    if (pii.middleName !== undefined) person.middleName = pii.middleName;
    if (pii.lastName) person.lastName = pii.lastName;
    if (pii.emailAddress !== undefined) person.emailAddress = pii.emailAddress;
    if (pii.genderCode !== undefined) person.gender = pii.genderCode;
    if (pii.dateOfBirth) person.dateOfBirth = pii.dateOfBirth;
    sendEmpty(res, 204);
  };
}

export function setIttOutcome(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const found = ctx.store.markersFor(trn);
    if (await answeredByMarkers(ctx, found, res)) return;
    const errors: ErrorMap = {};
    const birthDate = birthDateOf(req, errors);
    const parsed = parseWith(ittOutcomeSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, { ...errors, ...parsed.errors });
    const { ittProviderUkprn, outcome } = parsed.value;
    const assessmentDate = parsed.value.assessmentDate ?? null;
    if (!ittProviderUkprn?.trim()) addError(errors, "ittProviderUkprn", "ITT provider UKPRN is required.");
    if (outcome === "Pass" && assessmentDate === null)
      addError(errors, "assessmentDate", "Assessment date must be specified when outcome is Pass.");
    else if (outcome !== "Pass" && assessmentDate !== null)
      addError(errors, "assessmentDate", "Assessment date cannot be specified unless outcome is Pass.");
    else if (assessmentDate !== null && assessmentDate > todayOf(ctx.now()))
      addError(errors, "assessmentDate", "QTS date cannot be in the future.");
    if (Object.keys(errors).length > 0 || !birthDate || !ittProviderUkprn) return sendValidationProblem(res, errors);

    const person = found.has("notfound") ? undefined : ctx.store.findForDqt({ trn, birthDate, slugId: queryValue(req, "slugId") });
    if (!person) return sendDqtError(res, 10001);
    if (found.has("noitt")) return sendDqtError(res, 10005);
    if (outcome === "Pass" && found.has("noqts")) return sendDqtError(res, 10006);
    const itt = person.itt.find((record) => record.providerUkprn === ittProviderUkprn);
    if (!itt) return sendDqtError(res, 10005);

    if (outcome === "Pass" && assessmentDate !== null) {
      const kind = isEarlyYearsProgramme(itt.programmeType) ? "eyts" : "qts";
      const held = kind === "eyts" ? person.eytsDate : person.qtsDate;
      if (held !== null && held !== assessmentDate) return sendDqtError(res, 10003);
      if (itt.result === "Fail" || itt.result === "Withdrawn") return sendDqtError(res, 10005);
      // An ITT already passed with this date answers as before, so a retried award is harmless.
      ctx.store.recordAward(person, kind, assessmentDate);
      itt.result = "Pass";
      return sendJson(res, 200, { trn: person.trn, qtsDate: assessmentDate });
    }
    // Re-sending Withdrawn to a Withdrawn ITT (or Fail to a Failed one) succeeds (trs-api.md §3d).
    if (isComplete(itt.result) && itt.result !== outcome) return sendDqtError(res, 10005);
    itt.result = outcome;
    sendJson(res, 200, { trn: person.trn, qtsDate: person.qtsDate });
  };
}

/** An ITT that is no longer "incomplete" in DQT's sense. */
function isComplete(result: string): boolean {
  return result === "Pass" || result === "Fail" || result === "Withdrawn";
}

export function getTeacher(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const trn = String(req.params.trn);
    const found = ctx.store.markersFor(trn);
    if (await answeredByMarkers(ctx, found, res)) return;
    const person = found.has("notfound") ? undefined : ctx.store.persons.get(trn);
    if (!person) return sendNotFound(res);
    sendJson(res, 200, {
      trn: person.trn,
      firstName: person.firstName,
      lastName: person.lastName,
      middleName: person.middleName,
      dateOfBirth: person.dateOfBirth,
      nationalInsuranceNumber: person.nationalInsuranceNumber,
      hasActiveSanctions: false,
      qtsDate: person.qtsDate,
      eytsDate: person.eytsDate,
      husId: null,
      // The DQT status code for EYTS; unconfirmed beyond its name.
      earlyYearsStatus: person.eytsDate ? { value: "221", name: "Early Years Teacher Status" } : null,
      initialTeacherTraining: person.itt.map((itt) => ({
        programmeStartDate: itt.programmeStartDate,
        programmeEndDate: itt.programmeEndDate,
        programmeType: itt.programmeType,
        result: itt.result,
        provider: { ukprn: itt.providerUkprn },
        husId: null,
        active: true,
      })),
      allowPIIUpdates: person.qtsDate === null && person.eytsDate === null && !found.has("pii"),
    });
  };
}
