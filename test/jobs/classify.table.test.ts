import { describe, expect, it } from "vitest";
import { ApiError, type ApiErrorFields } from "../../src/clients/api-error.js";
import { SlackError } from "../../src/clients/slack.js";
import { InvalidTraineeError } from "../../src/clients/teacher-records.js";
import { classify, classifyFailureReason, errorClass, errorClasses, type ErrorKind } from "../../src/jobs/classify.js";
import { SyncError } from "../../src/errors.js";
import type { SyncOperation } from "../../src/clients/teacher-records.js";
import { Prisma } from "../../src/generated/prisma/client.js";

/** A Prisma error as the pg driver adapter reports it, with the Postgres SQLSTATE behind it. */
const dbError = (code: string, sqlState?: string) =>
  new Prisma.PrismaClientKnownRequestError(`Database error. Code: \`${sqlState ?? code}\`. Message: the value 'Ada' is wrong`, {
    code,
    clientVersion: "7",
    meta: sqlState ? { driverAdapterError: { name: "DriverAdapterError", cause: { originalCode: sqlState, kind: "postgres" } } } : {},
  });

const api = (fields: Partial<ApiErrorFields> & { status: number }) =>
  new ApiError({ method: "PUT", endpoint: "/v3/persons/{trn}", ...fields });
const route = "/v3/persons/{trn}/routes-to-professional-statuses/{reference}";
const dqtUpdate = { method: "PATCH", endpoint: "/v2/teachers/update/{trn}" };
const dqtOutcome = { method: "PUT", endpoint: "/v2/teachers/{trn}/itt-outcome" };
const field = (key: string, message: string) => ({
  status: 400,
  fieldErrors: { [key]: [message] },
  title: "One or more validation errors occurred.",
});

/** One error per class, the kind the class must have, and what the job was sending when it matters. */
const examples: Record<string, [unknown, ErrorKind, SyncOperation?]> = {
  api_timeout: [api({ status: 0, networkCode: "ETIMEDOUT" }), "transient"],
  api_unreachable: [api({ status: 0, networkCode: "ECONNREFUSED" }), "transient"],
  rate_limited: [api({ status: 429, retryAfterMs: 30_000 }), "waiting"],
  unauthorized: [api({ status: 401 }), "permanent"],
  forbidden: [api({ status: 403 }), "permanent"],
  api_unavailable: [api({ status: 500 }), "transient"],
  trn_request_exists: [api({ status: 409, errorCode: 10029, endpoint: "/v3/trn-requests", method: "POST" }), "ignorable"],
  trn_request_unknown: [api({ status: 404, errorCode: 10031, endpoint: "/v3/trn-requests", method: "GET" }), "permanent"],
  trn_request_rejected: [api({ status: 400, errorCode: 10062, endpoint: "/v3/trn-requests", method: "GET" }), "permanent"],
  trn_request_unconfirmed: [new SyncError("trn_request_unconfirmed", "POST /v3/trn-requests → 200: may have been received"), "transient"],
  trn_request_timed_out: [new SyncError("trn_request_timed_out", "no TRN after 4 day(s)"), "waiting"],
  trn_missing: [new SyncError("trn_missing", "update-trainee needs a TRN"), "waiting"],
  trn_conflict: [new SyncError("trn_conflict", "TRS allocated another TRN"), "permanent"],
  person_not_found: [api({ status: 404, errorCode: 10001 }), "permanent"],
  multiple_teachers: [api({ status: 409, errorCode: 10002, ...dqtUpdate }), "permanent"],
  record_inactive: [api({ status: 404, errorCode: 10058, method: "GET" }), "permanent"],
  record_merged: [api({ status: 404, errorCode: 10059, method: "GET" }), "permanent"],
  pii_update_not_permitted: [api({ status: 400, errorCode: 10041 }), "ignorable"],
  already_awarded: [api({ status: 400, errorCode: 10052, endpoint: route }), "ignorable", "award"],
  route_already_awarded: [api({ status: 400, errorCode: 10052, endpoint: route }), "permanent", "withdraw"],
  invalid_route_type: [api({ status: 400, errorCode: 10043, endpoint: route }), "permanent"],
  invalid_subject: [api({ status: 400, errorCode: 10045, endpoint: route }), "permanent"],
  invalid_country: [api({ status: 400, errorCode: 10047, endpoint: route }), "permanent"],
  invalid_provider_ukprn: [api({ status: 400, errorCode: 10048, endpoint: route }), "permanent"],
  invalid_degree_type: [api({ status: 400, errorCode: 10049, endpoint: route }), "permanent"],
  route_not_updatable: [api({ status: 400, errorCode: 10051, endpoint: route }), "permanent"],
  route_type_change: [api({ status: 400, errorCode: 10054, endpoint: route }), "permanent"],
  failed_status_locked: [api({ status: 400, errorCode: 10055, endpoint: route }), "permanent"],
  withdrawn_status_locked: [api({ status: 400, errorCode: 10056, endpoint: route }), "permanent"],
  already_has_qts: [
    api({ ...field("initialTeacherTraining.programmeType", "Teacher already has QTS/EYTS date"), ...dqtUpdate }),
    "permanent",
  ],
  awarded_record_differs: [
    new SyncError("awarded_record_differs", "PUT trs:route: … the record differs from ours in: Holds from"),
    "permanent",
  ],
  qts_date_mismatch: [api({ status: 400, errorCode: 10003, ...dqtOutcome }), "permanent"],
  multiple_itt_records: [api({ status: 400, errorCode: 10004, ...dqtOutcome }), "permanent"],
  no_incomplete_itt_record: [api({ status: 400, errorCode: 10005, ...dqtOutcome }), "permanent"],
  no_qts_record: [api({ status: 400, errorCode: 10006, ...dqtOutcome }), "permanent"],
  multiple_qts_records: [api({ status: 400, errorCode: 10007, ...dqtOutcome }), "permanent"],
  status_not_permitted_for_route: [
    api({ ...field("initialTeacherTraining.outcome", "InTraining not permitted for AssessmentOnlyRoute programme types."), ...dqtUpdate }),
    "permanent",
  ],
  organisation_not_found: [api({ ...field("initialTeacherTraining.providerUkprn", "Organisation not found"), ...dqtUpdate }), "permanent"],
  subject_not_found: [api({ ...field("initialTeacherTraining.subject1", "Subject not found"), ...dqtUpdate }), "permanent"],
  country_not_found: [api({ ...field("qualification.countryCode", "Country not found"), ...dqtUpdate }), "permanent"],
  programme_type_change: [
    api({ ...field("initialTeacherTraining.programmeType", "ProgrammeType cannot be changed"), ...dqtUpdate }),
    "permanent",
  ],
  endpoint_not_found: [api({ status: 404, endpoint: "/v3/trn-requests", method: "POST" }), "permanent"],
  validation_failed: [
    api({ ...field("holdsFrom", "Holds from date must be specified when status is 'Holds'."), endpoint: route }),
    "permanent",
  ],
  bad_request: [api({ status: 405 }), "permanent"],
  unexpected_response: [api({ status: 200, title: "unexpected response body", detail: "invalid: status" }), "permanent"],
  invalid_trainee_data: [new InvalidTraineeError("the trainee has no training route", "trainingRoute"), "permanent"],
  slack_unavailable: [new SlackError("Slack webhook answered 500", 500), "transient"],
  job_stalled: [new SyncError("job_stalled", "stopped mid-run 6 times"), "permanent"],
  database_unavailable: [dbError("P1001"), "transient"],
  database_error: [dbError("P2002", "23505"), "permanent"],
  internal_error: [new Error("boom"), "transient"],
};

describe("database errors", () => {
  it.each([
    ["P2002", "23505", "database_error"],
    ["P2003", "23503", "database_error"],
    ["P2010", "23514", "database_error"],
    ["P2010", "22008", "database_error"],
    ["P2010", "22P02", "database_error"],
    ["P2010", "P0001", "database_error"],
    ["P1001", undefined, "database_unavailable"],
    ["P1017", undefined, "database_unavailable"],
    ["P2024", undefined, "database_unavailable"],
    ["P2010", "57P01", "database_unavailable"],
    ["P2010", "08006", "database_unavailable"],
    ["P2010", "40P01", "database_unavailable"],
  ])("%s (SQLSTATE %s) → %s, never quoting the values", (code, sqlState, expected) => {
    const classified = classify(dbError(code, sqlState));
    expect(classified.errorClass.name).toBe(expected);
    expect(classified.message).not.toContain("Ada");
    expect(classified.message).toContain(code);
  });

  it("never retries a deterministic database error", () => {
    expect(classify(dbError("P2002", "23505")).errorClass.kind).toBe("permanent");
  });
});

describe("a failure reason as BullMQ stores it", () => {
  it.each([
    ["validation_failed: PUT /v3/persons/{trn} → 400", "validation_failed"],
    ["job stalled more than allowable limit", "job_stalled"],
    ["no_such_class: something", "internal_error"],
    ["Can't reach database server", "internal_error"],
  ])("%s → %s", (reason, expected) => {
    expect(classifyFailureReason(reason).errorClass.name).toBe(expected);
  });
});

describe("remediations", () => {
  /** What support can do in trs-sync: a remediation names at least one. */
  const actions = [
    /\bretr(y|ies)\b/i,
    /\bre-run\b/i,
    /\bcancel (the|it)\b|cancel the job/i,
    /“Re-submit for TRN”/,
    /“Restart TRN polling”/,
    /npm run cli -- /,
    /nothing to do/i,
    /(carries|goes) on/i,
  ];
  it.each(errorClasses.map((c) => [c.name, c.remediation] as const))("%s names an action support can take in trs-sync", (_name, text) => {
    expect(actions.some((action) => action.test(text))).toBe(true);
    // nothing that does not exist: no "delete the job", no page trs-sync does not have
    expect(text).not.toMatch(/delete the job|pending TRNs page|pending awards page/i);
  });
});

describe("the error class table", () => {
  it("keeps its stable names, in order", () => {
    expect(errorClasses.map((c) => c.name)).toEqual(Object.keys(examples));
  });

  it("has unique snake_case names", () => {
    const names = errorClasses.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
  });

  it.each(errorClasses.map((c) => [c.name, c] as const))("%s has a title, a kind and a 1-3 sentence remediation", (_, c) => {
    expect(c.title.trim()).not.toBe("");
    expect(["transient", "permanent", "ignorable", "waiting"]).toContain(c.kind);
    expect(c.remediation.trim()).not.toBe("");
    const sentences = c.remediation.split(/(?<=[.!?])\s+(?=[A-Z“`])/).filter((s) => s.trim());
    expect(sentences.length).toBeGreaterThanOrEqual(1);
    expect(sentences.length).toBeLessThanOrEqual(3);
  });

  it.each(Object.entries(examples))("%s is reachable and has the expected kind", (name, [error, kind, operation]) => {
    const classified = classify(error, { operation });
    expect(classified.errorClass.name).toBe(name);
    expect(classified.errorClass.kind).toBe(kind);
    expect(classified.errorClass).toBe(errorClass(name));
  });

  it("throws on an unknown class name", () => {
    expect(() => errorClass("no_such_class")).toThrow(/no_such_class/);
  });
});

describe("classify", () => {
  it.each([
    [{ status: 400, errorCode: 10099 }, "bad_request"],
    [{ status: 404, errorCode: 10028 }, "bad_request"],
    [{ status: 409 }, "bad_request"],
    [{ status: 410 }, "bad_request"],
    [{ status: 400 }, "bad_request"],
    [{ status: 502 }, "api_unavailable"],
    [{ status: 503, errorCode: 10099 }, "api_unavailable"],
    [{ status: 410, errorCode: 10058 }, "record_inactive"],
    [{ status: 403, errorCode: 10040 }, "forbidden"],
    [{ status: 308 }, "record_merged"],
    [{ status: 301, endpoint: "/v3/trn-requests" }, "unexpected_response"],
    [{ status: 201, title: "unexpected response body" }, "unexpected_response"],
    [{ status: 0, networkCode: "ECONNRESET" }, "api_unreachable"],
    [{ status: 0, networkCode: "ENOTFOUND" }, "api_unreachable"],
    [{ status: 0, networkCode: "ESOCKETTIMEDOUT" }, "api_timeout"],
    [{ status: 400, errorCode: 10042 }, "pii_update_not_permitted"],
    [{ status: 400, errorCode: 10057 }, "pii_update_not_permitted"],
    [{ status: 404, endpoint: "/v2/teachers/{trn}", method: "GET" }, "person_not_found"],
    [{ status: 404, endpoint: "/v2/trn-requests/{requestId}", method: "GET" }, "trn_request_unknown"],
    [{ status: 404, endpoint: "/v3/persons/{trn}" }, "endpoint_not_found"],
  ] as const)("%j → %s", (fields, name) => {
    expect(classify(api(fields)).errorClass.name).toBe(name);
  });

  it("recognises DQT field messages for the same codes as errorCodes", () => {
    expect(
      classify(api({ ...field("initialTeacherTraining.providerUkprn", "Teacher has no incomplete ITT record"), ...dqtUpdate })).errorClass
        .name,
    ).toBe("no_incomplete_itt_record");
    expect(classify(api({ ...field("initialTeacherTraining.outcome", "Teacher has no QTS record"), ...dqtUpdate })).errorClass.name).toBe(
      "no_qts_record",
    );
    expect(
      classify(api({ ...field("initialTeacherTraining.outcome", "Unable to change Failed Result."), ...dqtUpdate })).errorClass.name,
    ).toBe("failed_status_locked");
    expect(
      classify(api({ ...field("initialTeacherTraining.ittQualificationType", "ITT qualification not found"), ...dqtUpdate })).errorClass
        .name,
    ).toBe("invalid_degree_type");
  });

  it("tells DQT's 'already has QTS' field message from the itt-outcome errorCode 10003", () => {
    expect(
      classify(api({ ...field("initialTeacherTraining.programmeType", "Teacher already has QTS/EYTS date"), ...dqtUpdate })).errorClass
        .name,
    ).toBe("already_has_qts");
    expect(
      classify(api({ status: 400, errorCode: 10003, title: "Teacher already has QTS/EYTS date", ...dqtOutcome })).errorClass.name,
    ).toBe("qts_date_mismatch");
  });

  it("takes the first matching class when several fields fail", () => {
    const error = api({
      status: 400,
      fieldErrors: {
        "initialTeacherTraining.subject1": ["Subject not found"],
        "initialTeacherTraining.providerUkprn": ["Organisation not found"],
      },
      ...dqtUpdate,
    });
    expect(classify(error).errorClass.name).toBe("organisation_not_found");
  });

  it("reports status, code, message and Retry-After of an ApiError", () => {
    const error = api({ status: 429, retryAfterMs: 30_000, title: "API calls quota exceeded" });
    expect(classify(error)).toEqual({
      errorClass: errorClass("rate_limited"),
      httpStatus: 429,
      errorCode: null,
      message: error.message,
      retryAfterMs: 30_000,
    });
    expect(classify(api({ status: 409, errorCode: 10029 }))).toMatchObject({ httpStatus: 409, errorCode: 10029, retryAfterMs: null });
  });

  it("reports no HTTP status when no answer came", () => {
    expect(classify(api({ status: 0, networkCode: "ETIMEDOUT" }))).toMatchObject({ httpStatus: null, errorCode: null });
  });

  it("names the fields of a validation failure in the message", () => {
    const classified = classify(
      api({ ...field("person.dateOfBirth", "Birth date is out of expected range."), endpoint: "/v3/trn-requests", method: "POST" }),
    );
    expect(classified.errorClass.name).toBe("validation_failed");
    expect(classified.message).toContain("person.dateOfBirth");
  });

  it("names the missing field of an invalid trainee", () => {
    expect(classify(new InvalidTraineeError("the trainee has no provider UKPRN", "providerUkprn")).message).toBe(
      "providerUkprn: the trainee has no provider UKPRN",
    );
  });

  it("falls back to internal_error for a SyncError with an unknown class, and for anything thrown", () => {
    const unknown = classify(new SyncError("made_up", "something"));
    expect(unknown.errorClass.name).toBe("internal_error");
    expect(unknown.message).toContain("made_up");
    expect(classify("a string").errorClass.name).toBe("internal_error");
    expect(classify(undefined).message).toBe("undefined");
  });

  it("cuts long messages", () => {
    expect(classify(new Error("x".repeat(2000))).message.length).toBeLessThanOrEqual(500);
  });

  it("carries Slack's status for an alert that failed", () => {
    expect(classify(new SlackError("Slack webhook answered 503", 503))).toMatchObject({ httpStatus: 503 });
    expect(classify(new SlackError("Slack webhook unreachable (ETIMEDOUT)", 0))).toMatchObject({ httpStatus: null });
  });
});
