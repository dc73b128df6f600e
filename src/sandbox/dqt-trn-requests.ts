/**
 * DQT v2 `PUT /v2/trn-requests/{requestId}` (idempotent: 201 created, 200 for a known id) and
 * `GET /v2/trn-requests/{requestId}` (trs-api.md §3a, §3b). The request carries the ITT, so a
 * completed request leaves a person with an ITT record for that provider.
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { answeredByMarkers, type SandboxContext } from "./context.js";
import { ittSchema, ittSubjects, lookupErrors, qualificationSchema, validateItt } from "./dqt-validation.js";
import { markersIn } from "./markers.js";
import { checkBirthDate, checkMaxLength, checkRequestId, checkRequiredName, isEmailAddress } from "./person-rules.js";
import { type ErrorMap, sendJson, sendNotFound, sendValidationProblem } from "./problems.js";
import { dqtGenders } from "./reference-data.js";
import { addError, dateOnly, jsonObject, messages, parseWith, peekString, todayOf } from "./request-parsing.js";
import type { IttRecord, SandboxStore, TrnRequestRecord } from "./state.js";

const getOrCreateSchema = jsonObject({
  firstName: z.string().nullish(),
  middleName: z.string().nullish(),
  lastName: z.string().nullish(),
  birthDate: dateOnly.nullish(),
  emailAddress: z.string().nullish(),
  genderCode: z.enum(dqtGenders),
  initialTeacherTraining: ittSchema.nullish(),
  qualification: qualificationSchema.nullish(),
  husId: z.string().nullish(),
  teacherType: z.enum(["TraineeTeacher", "OverseasQualifiedTeacher"]).nullish(),
  recognitionRoute: z.enum(["Scotland", "NorthernIreland", "EuropeanEconomicArea", "OverseasTrainedTeachers"]).nullish(),
  qtsDate: dateOnly.nullish(),
  inductionRequired: z.boolean().nullish(),
  underNewOverseasRegulations: z.boolean().nullish(),
  slugId: z.string().nullish(),
  identityVerified: z.boolean().nullish(),
  oneLoginUserSubject: z.string().nullish(),
});

type GetOrCreate = z.infer<typeof getOrCreateSchema>;

/** DQT's GetOrCreateTrnRequestValidator (trs-api.md §3a). */
function validate(requestId: string, request: GetOrCreate, today: string, reject: boolean): ErrorMap {
  const errors: ErrorMap = {};
  checkRequestId(errors, requestId);
  checkRequiredName(errors, "firstName", request.firstName);
  checkMaxLength(errors, "middleName", request.middleName, 100);
  checkRequiredName(errors, "lastName", request.lastName);
  if (!request.birthDate) addError(errors, "birthDate", messages.notEmpty("birthDate"));
  else checkBirthDate(errors, "birthDate", request.birthDate, today, reject);
  if (request.emailAddress && !isEmailAddress(request.emailAddress))
    addError(errors, "emailAddress", messages.invalidEmail("emailAddress"));
  checkMaxLength(errors, "slugId", request.slugId, 150);

  const overseas = request.teacherType === "OverseasQualifiedTeacher";
  validateItt(errors, request.initialTeacherTraining, overseas);
  for (const key of ["recognitionRoute", "qtsDate", "inductionRequired"] as const) {
    if (overseas && request[key] == null) addError(errors, key, messages.notEmpty(key));
    if (!overseas && request[key] != null) addError(errors, key, messages.mustBeEmpty(key));
  }
  return errors;
}

/** DQT's TrnRequestInfo (trs-api.md §3a); accessYourTeachingQualificationsLink is omitted as there is none. */
function trnRequestInfo(record: TrnRequestRecord, store: SandboxStore) {
  const person = record.trn === null ? undefined : store.persons.get(record.trn);
  return {
    requestId: record.requestId,
    status: record.trn ? "Completed" : "Pending",
    trn: record.trn,
    potentialDuplicate: record.trn === null,
    qtsDate: person?.qtsDate ?? null,
    slugId: record.slugId,
  };
}

function ittRecord(request: GetOrCreate): IttRecord | null {
  const itt = request.initialTeacherTraining;
  if (!itt?.providerUkprn || !itt.programmeType || !itt.programmeStartDate || !itt.programmeEndDate) return null;
  return {
    providerUkprn: itt.providerUkprn,
    programmeType: itt.programmeType,
    programmeStartDate: itt.programmeStartDate,
    programmeEndDate: itt.programmeEndDate,
    result: itt.programmeType === "AssessmentOnlyRoute" ? "UnderAssessment" : "InTraining",
    subjects: ittSubjects(itt),
    ageRangeFrom: itt.ageRangeFrom ?? null,
    ageRangeTo: itt.ageRangeTo ?? null,
  };
}

export function putTrnRequest(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const requestId = String(req.params.requestId);
    const found = markersIn(peekString(req.body, "lastName"));
    if (await answeredByMarkers(ctx, found, res)) return;
    const parsed = parseWith(getOrCreateSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, parsed.errors);
    const request = parsed.value;
    const errors = validate(requestId, request, todayOf(ctx.now()), found.has("reject"));
    if (Object.keys(errors).length > 0) return sendValidationProblem(res, errors);

    const existing = ctx.store.trnRequests.get(requestId);
    if (existing) {
      ctx.store.refreshTrnRequest(existing, ctx.now(), ctx.pendingCompletesAfterMs);
      return sendJson(res, 200, trnRequestInfo(existing, ctx.store));
    }
    const lookups = lookupErrors(request.initialTeacherTraining, request.qualification, found);
    if (Object.keys(lookups).length > 0) return sendValidationProblem(res, lookups);

    const record = ctx.store.addTrnRequest(
      {
        requestId,
        person: {
          firstName: request.firstName!,
          middleName: request.middleName ?? null,
          lastName: request.lastName!,
          dateOfBirth: request.birthDate!,
          emailAddress: request.emailAddress ?? null,
          nationalInsuranceNumber: null,
          gender: request.genderCode,
        },
        slugId: request.slugId ?? null,
        itt: ittRecord(request),
        qtsDate: request.teacherType === "OverseasQualifiedTeacher" ? (request.qtsDate ?? null) : null,
      },
      ctx.now(),
    );
    sendJson(res, 201, trnRequestInfo(record, ctx.store));
  };
}

export function getDqtTrnRequest(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const record = ctx.store.trnRequests.get(String(req.params.requestId));
    if (!record) return sendNotFound(res);
    if (await answeredByMarkers(ctx, markersIn(record.person.lastName), res)) return;
    ctx.store.refreshTrnRequest(record, ctx.now(), ctx.pendingCompletesAfterMs);
    sendJson(res, 200, trnRequestInfo(record, ctx.store));
  };
}
