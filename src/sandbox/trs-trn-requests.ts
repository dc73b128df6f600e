/**
 * TRS v3 `POST /v3/trn-requests` and `GET /v3/trn-requests?requestId=` (trs-api.md §3a, §3b):
 * 200 Completed or Pending, 409 10029 for a reused id, 404 10031 for an unknown one.
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { normalisedNino } from "./trs-persons.js";
import { answeredByMarkers, type SandboxContext } from "./context.js";
import { markersIn } from "./markers.js";
import { type ErrorMap, sendJson, sendTrsError, sendValidationProblem } from "./problems.js";
import { addError, dateOnly, jsonObject, messages, parseWith, peekString, queryValue, todayOf } from "./request-parsing.js";
import { checkBirthDate, checkMaxLength, checkRequestId, checkRequiredName, isEmailAddress } from "./person-rules.js";
import type { TrnRequestRecord } from "./state.js";

const createTrnRequestSchema = jsonObject({
  requestId: z.string(),
  person: jsonObject({
    firstName: z.string(),
    middleName: z.string().nullish(),
    lastName: z.string(),
    dateOfBirth: dateOnly,
    emailAddresses: z.array(z.string().nullable()).nullish(),
    nationalInsuranceNumber: z.string().nullish(),
    gender: z.enum(["Male", "Female", "Other"]).nullish(),
  }),
  identityVerified: z.boolean().nullish(),
  oneLoginUserSubject: z.string().nullish(),
});

type CreateTrnRequest = z.infer<typeof createTrnRequestSchema>;

/** TRS's CreateTrnRequestRequestValidator (V20250425). */
function validate(request: CreateTrnRequest, today: string, reject: boolean): ErrorMap {
  const errors: ErrorMap = {};
  const { person } = request;
  checkRequestId(errors, request.requestId);
  checkRequiredName(errors, "person.firstName", person.firstName);
  checkMaxLength(errors, "person.middleName", person.middleName, 100);
  checkRequiredName(errors, "person.lastName", person.lastName);
  checkBirthDate(errors, "person.dateOfBirth", person.dateOfBirth, today, reject);
  (person.emailAddresses ?? []).forEach((email, index) => {
    const key = `person.emailAddresses[${index}]`;
    if (email === null) addError(errors, key, "Email address cannot be null.");
    else if (!isEmailAddress(email)) addError(errors, key, messages.invalidEmail(key));
    else checkMaxLength(errors, key, email, 100);
  });
  if (person.nationalInsuranceNumber && !isNationalInsuranceNumber(person.nationalInsuranceNumber)) {
    addError(errors, "person.nationalInsuranceNumber", "Enter a National Insurance number in the correct format");
  }
  return errors;
}

/** CreateTrnRequestRequestValidator: NationalInsuranceNumber.TryParse, as PUT persons parses it. */
function isNationalInsuranceNumber(text: string): boolean {
  return normalisedNino(text) !== undefined;
}

/** TrnRequestInfo as each minor version shapes it (trs-api.md §3a). */
function trnRequestInfo(record: TrnRequestRecord, version: string): Record<string, unknown> {
  const info: Record<string, unknown> = { requestId: record.requestId, status: record.trn ? "Completed" : "Pending", trn: record.trn };
  if (version >= "20250425") {
    info.potentialDuplicate = record.potentialDuplicate;
    // Real TRS links only Completed requests that gave an email address; the sandbox has no AYTQ.
    info.accessYourTeachingQualificationsLink = null;
  }
  if (version >= "20260515") info.oneLoginUserSubject = null;
  return info;
}

export function createTrnRequest(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const found = markersIn(peekString(req.body, "person", "lastName"));
    if (await answeredByMarkers(ctx, found, res)) return;
    const parsed = parseWith(createTrnRequestSchema, req.body);
    if (!parsed.ok) return sendValidationProblem(res, parsed.errors);
    const errors = validate(parsed.value, todayOf(ctx.now()), found.has("reject"));
    if (Object.keys(errors).length > 0) return sendValidationProblem(res, errors);

    const { requestId, person } = parsed.value;
    if (ctx.store.trnRequests.has(requestId)) return sendTrsError(res, 10029, `TRN request ID: '${requestId}'`);
    const record = ctx.store.addTrnRequest(
      {
        requestId,
        person: {
          firstName: person.firstName,
          middleName: person.middleName ?? null,
          lastName: person.lastName,
          dateOfBirth: person.dateOfBirth,
          emailAddress: person.emailAddresses?.[0] ?? null,
          nationalInsuranceNumber: person.nationalInsuranceNumber ?? null,
          gender: person.gender ?? null,
        },
        slugId: null,
        itt: null,
        qtsDate: null,
      },
      ctx.now(),
    );
    sendJson(res, 200, trnRequestInfo(record, res.locals.apiVersion as string));
  };
}

export function getTrnRequest(ctx: SandboxContext): RequestHandler {
  return async (req, res) => {
    const requestId = queryValue(req, "requestId");
    if (!requestId) return sendValidationProblem(res, { requestId: ["The requestId field is required."] });
    const record = ctx.store.trnRequests.get(requestId);
    if (!record) return sendTrsError(res, 10031, `TRN request ID: '${requestId}'`);
    if (await answeredByMarkers(ctx, markersIn(record.person.lastName), res)) return;
    ctx.store.refreshTrnRequest(record, ctx.now(), ctx.pendingCompletesAfterMs);
    sendJson(res, 200, trnRequestInfo(record, res.locals.apiVersion as string));
  };
}
