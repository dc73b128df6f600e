/**
 * How the sandbox answers: successes are `application/json`, errors `application/problem+json`
 * (trs-api.md §2, §5), and 401/404-for-unknown-routes have an empty body (§5.4).
 */
import type { Response } from "express";

export type ErrorMap = Record<string, string[]>;

export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type("application/json").send(JSON.stringify(body));
}

export function sendProblem(res: Response, status: number, body: unknown): void {
  res.status(status).type("application/problem+json").send(JSON.stringify(body));
}

export function sendEmpty(res: Response, status: number): void {
  res.status(status).end();
}

/** ASP.NET's ValidationProblemDetails (trs-api.md §5.2): no errorCode, camelCased keys. */
export function sendValidationProblem(res: Response, errors: ErrorMap): void {
  sendProblem(res, 400, {
    type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    title: "One or more validation errors occurred.",
    status: 400,
    errors,
  });
}

/** ASP.NET's bare 404 problem, used by DQT v2 where no errorCode applies (trs-api.md §3b, §3e). */
export function sendNotFound(res: Response): void {
  sendProblem(res, 404, { type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not Found", status: 404 });
}

export function sendUnsupportedMediaType(res: Response): void {
  sendProblem(res, 415, { type: "https://tools.ietf.org/html/rfc9110#section-15.5.16", title: "Unsupported Media Type", status: 415 });
}

/** v3 ApiError titles (trs-api.md §4, ApiError.cs), with the HTTP status TRS uses for each. */
const trsErrors = {
  10001: [404, "Person not found."],
  10029: [409, "TRN request has already been created."],
  10031: [404, "TRN request does not exist."],
  10041: [400, "Updates to PII data is not permitted."],
  10042: [400, "Updates to PII data is not permitted. Person has QTS."],
  10043: [400, "Invalid route type."],
  10045: [400, "Invalid training subject reference."],
  10047: [400, "Invalid training country reference."],
  10048: [400, "Invalid training provider UKPRN."],
  10049: [400, "Invalid degree type."],
  10051: [400, "Updates not allowed for route type."],
  10052: [400, "Route to professional status already awarded."],
  10054: [400, "Unable to change route type."],
  10055: [400, "Unable to change fail professional status status."],
  10056: [400, "Unable to change withdrawn professional status status."],
  10057: [400, "Updates to PII data is not permitted. Person has EYTS."],
} as const satisfies Record<number, readonly [number, string]>;

export type TrsErrorCode = keyof typeof trsErrors;

/** A v3 error: `{title, status, detail, errorCode}`; detail is "" where TRS sets none. */
export function sendTrsError(res: Response, errorCode: TrsErrorCode, detail = ""): void {
  const [status, title] = trsErrors[errorCode];
  sendProblem(res, status, { title, status, detail, errorCode });
}

/** v1/v2 ErrorRegistry titles (trs-api.md §4); v2 errors carry no detail. */
const dqtErrors = {
  10001: [404, "Teacher with specified TRN not found"],
  10003: [400, "Teacher already has QTS/EYTS date"],
  10005: [400, "Teacher has no incomplete ITT record"],
  10006: [400, "Teacher has no QTS record"],
} as const satisfies Record<number, readonly [number, string]>;

export type DqtErrorCode = keyof typeof dqtErrors;

export function sendDqtError(res: Response, errorCode: DqtErrorCode): void {
  const [status, title] = dqtErrors[errorCode];
  sendProblem(res, status, { title, status, errorCode });
}

/** DQT reports lookup failures as field messages that are error titles (trs-api.md §3c table). */
export const dqtFieldMessages = {
  organisationNotFound: "Organisation not found",
  subjectNotFound: "Subject not found",
  countryNotFound: "Country not found",
  alreadyHasQtsOrEyts: "Teacher already has QTS/EYTS date",
  programmeTypeCannotBeChanged: "ProgrammeType cannot be changed",
  inTrainingNotForAssessmentOnly: "InTraining not permitted for AssessmentOnlyRoute programme types.",
  underAssessmentOnlyForAssessmentOnly: "UnderAssessment only permitted for AssessmentOnlyRoute programme types.",
  cannotUnwithdrawToDeferred: "Result cannot be unwithdrawn to deferred",
  cannotChangeFailed: "Unable to change Failed Result.",
} as const;
