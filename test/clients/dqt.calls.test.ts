import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { createDqtClient } from "../../src/clients/dqt.js";
import { InvalidTraineeError } from "../../src/clients/teacher-records.js";
import { classify } from "../../src/jobs/classify.js";
import { dqtTrnRequestBody, dqtUpdateBody } from "../../src/trainees/payloads.js";
import { day, traineeFixture } from "../support/trainee-fixture.js";
import { apiError, dqtScenario } from "../support/trs-scenarios.js";

const baseUrl = "https://dqt.test";
const samples: { endpoint: string; method: string; status: number }[] = [];
const client = createDqtClient({ baseUrl, apiKey: "dqt-key", timeoutMs: 2000, observe: (s) => samples.push(s) });
const trainee = traineeFixture();
const slug = trainee.slug;
const recommended = traineeFixture({ state: "recommended_for_award", outcomeDate: day("2026-07-10") });

afterEach(() => {
  nock.cleanAll();
  samples.length = 0;
});

describe("TRN requests", () => {
  it("PUTs /v2/trn-requests/{id} with the bearer key and no X-Api-Version", async () => {
    let seen: { url: string; headers: Headers; body: unknown } | undefined;
    const scope = dqtScenario(baseUrl, "completed", { requestId: "req-1" }).on("request", (request: Request, _: unknown, body: string) => {
      seen = { url: request.url, headers: request.headers, body: JSON.parse(body) };
    });
    const result = await client.requestTrn("req-1", traineeFixture({ trn: null }));
    expect(scope.isDone()).toBe(true);
    expect(seen!.url).toBe("https://dqt.test/v2/trn-requests/req-1");
    expect(seen!.headers.get("authorization")).toBe("Bearer dqt-key");
    expect(seen!.headers.has("x-api-version")).toBe(false);
    expect(seen!.body).toEqual(dqtTrnRequestBody(traineeFixture({ trn: null })));
    expect(result).toMatchObject({ requestId: "req-1", status: "completed", trn: "1234567", potentialDuplicate: false });
    expect(samples).toEqual([expect.objectContaining({ endpoint: "/v2/trn-requests/{requestId}", method: "PUT", status: 201 })]);
  });

  it("reads 200 for a request id already used (DQT's PUT is idempotent)", async () => {
    dqtScenario(baseUrl, "alreadyCreated");
    expect(await client.requestTrn("req-1", trainee)).toMatchObject({ status: "completed", trn: "1234567" });
  });

  it("reads Pending as a potential duplicate", async () => {
    dqtScenario(baseUrl, "pending");
    expect(await client.requestTrn("req-1", trainee)).toMatchObject({ status: "pending", trn: null, potentialDuplicate: true });
  });

  it("polls with GET /v2/trn-requests/{id}", async () => {
    const scope = dqtScenario(baseUrl, "pollCompleted", { requestId: "req-1" });
    expect(await client.getTrnRequest("req-1")).toMatchObject({ status: "completed", trn: "1234567" });
    expect(scope.isDone()).toBe(true);
  });

  it("throws a 404 without errorCode for an unknown request, classed trn_request_unknown", async () => {
    dqtScenario(baseUrl, "requestNotFound");
    const error = await apiError(client.getTrnRequest("req-9"));
    expect(error).toMatchObject({ status: 404, errorCode: undefined, endpoint: "/v2/trn-requests/{requestId}" });
    expect(classify(error).errorClass.name).toBe("trn_request_unknown");
  });

  it("refuses a teach_first trainee before sending anything", async () => {
    await expect(client.requestTrn("req-1", traineeFixture({ trainingRoute: "teach_first" }))).rejects.toBeInstanceOf(InvalidTraineeError);
  });

  it.each([
    ["rateLimited", 429, 60_000],
    ["rateLimitedEmpty", 429, undefined],
    ["serverError", 500, undefined],
  ] as const)("throws %s", async (name, status, retryAfterMs) => {
    dqtScenario(baseUrl, name, { retryAfter: "60" });
    expect(await apiError(client.requestTrn("req-1", trainee))).toMatchObject({ status, retryAfterMs });
  });

  it("gives status 0 ETIMEDOUT when DQT does not answer in time", async () => {
    dqtScenario(baseUrl, "timeout", { delayMs: 500 });
    const slow = createDqtClient({ baseUrl, apiKey: "dqt-key", timeoutMs: 100 });
    expect(await apiError(slow.requestTrn("req-1", trainee))).toMatchObject({ status: 0, networkCode: "ETIMEDOUT" });
  });
});

describe("planSync", () => {
  it("plans an update as PATCH /v2/teachers/update/{trn}?birthdate=&slugId=", () => {
    expect(client.planSync("update", trainee)).toEqual([
      {
        endpoint: "dqt:update",
        method: "PATCH",
        path: `/v2/teachers/update/1234567?birthdate=1990-05-17&slugId=${slug}`,
        body: dqtUpdateBody(trainee),
      },
    ]);
  });

  it("plans a withdrawal as PUT /v2/teachers/{trn}/itt-outcome?birthdate=&slugid= with Withdrawn", () => {
    expect(client.planSync("withdraw", traineeFixture({ state: "withdrawn" }))).toEqual([
      {
        endpoint: "dqt:itt-outcome",
        method: "PUT",
        path: `/v2/teachers/1234567/itt-outcome?birthdate=1990-05-17&slugid=${slug}`,
        body: { ittProviderUkprn: "10007799", outcome: "Withdrawn" },
      },
    ]);
  });

  it("plans an award as the itt-outcome PUT with Pass and the assessment date", () => {
    expect(client.planSync("award", recommended)).toEqual([
      expect.objectContaining({
        endpoint: "dqt:itt-outcome",
        body: { ittProviderUkprn: "10007799", outcome: "Pass", assessmentDate: "2026-07-10" },
      }),
    ]);
  });

  it("refuses a trainee without a TRN", () => {
    expect(() => client.planSync("withdraw", traineeFixture({ trn: null }))).toThrow(InvalidTraineeError);
  });
});

describe("send", () => {
  it("PATCHes the update with the exact query string and reads the 204", async () => {
    const scope = dqtScenario(baseUrl, "updated", { trn: "1234567", query: { birthdate: "1990-05-17", slugId: slug } });
    expect(await client.send(client.planSync("update", trainee)[0]!)).toEqual({ status: 204, body: null });
    expect(scope.isDone()).toBe(true);
    expect(samples[0]).toMatchObject({ endpoint: "/v2/teachers/update/{trn}", method: "PATCH", status: 204 });
  });

  it("reads the award's qtsDate", async () => {
    const scope = dqtScenario(baseUrl, "passWithQtsDate", { query: { birthdate: "1990-05-17", slugid: slug }, qtsDate: "2026-07-11" });
    const result = await client.send(client.planSync("award", recommended)[0]!);
    expect(scope.isDone()).toBe(true);
    expect(result).toEqual({ status: 200, body: { trn: "1234567", qtsDate: "2026-07-11" } });
    expect(client.awardDateFrom([result])).toBe("2026-07-11");
    expect(samples[0]).toMatchObject({ endpoint: "/v2/teachers/{trn}/itt-outcome", method: "PUT", status: 200 });
  });

  it("gives no award date for a withdrawal or a 204", async () => {
    dqtScenario(baseUrl, "withdrawn");
    const result = await client.send(client.planSync("withdraw", trainee)[0]!);
    expect(client.awardDateFrom([result])).toBeNull();
    expect(client.awardDateFrom([{ status: 204, body: null }])).toBeNull();
  });

  it("refuses an itt-outcome 200 that is not {trn, qtsDate}", async () => {
    dqtScenario(baseUrl, "malformed");
    const error = await apiError(client.send(client.planSync("award", recommended)[0]!));
    expect(error).toMatchObject({ status: 200, title: "unexpected response body" });
  });

  it.each([
    ["qtsDateMismatch10003", 10003, "qts_date_mismatch"],
    ["multipleItt10004", 10004, "multiple_itt_records"],
    ["noIncompleteItt10005", 10005, "no_incomplete_itt_record"],
    ["noQts10006", 10006, "no_qts_record"],
    ["multipleQts10007", 10007, "multiple_qts_records"],
  ] as const)("turns the itt-outcome answer %s into a classed ApiError", async (name, errorCode, errorClass) => {
    dqtScenario(baseUrl, name);
    const error = await apiError(client.send(client.planSync("award", recommended)[0]!));
    expect(error).toMatchObject({ status: 400, errorCode, endpoint: "/v2/teachers/{trn}/itt-outcome" });
    expect(classify(error).errorClass.name).toBe(errorClass);
  });

  it.each([
    ["teacherNotFound10001", 404, "person_not_found"],
    ["multipleTeachers10002", 409, "multiple_teachers"],
    ["organisationNotFound", 400, "organisation_not_found"],
    ["subjectNotFound", 400, "subject_not_found"],
    ["countryNotFound", 400, "country_not_found"],
    ["programmeTypeChange", 400, "programme_type_change"],
    ["alreadyHasQts", 400, "already_has_qts"],
  ] as const)("turns the update answer %s into a classed ApiError", async (name, status, errorClass) => {
    dqtScenario(baseUrl, name);
    const error = await apiError(client.send(client.planSync("update", trainee)[0]!));
    expect(error.status).toBe(status);
    expect(classify(error).errorClass.name).toBe(errorClass);
  });

  it("keeps the date of birth of the query string out of the error", async () => {
    dqtScenario(baseUrl, "alreadyHasQts");
    const error = await apiError(client.send(client.planSync("update", trainee)[0]!));
    expect(error.endpoint).toBe("/v2/teachers/update/{trn}");
    expect(error.message).not.toContain("1990-05-17");
    expect(error.message).not.toContain(slug);
  });
});

describe("getPerson: GET /v2/teachers/{trn}", () => {
  it("returns the teacher", async () => {
    const scope = dqtScenario(baseUrl, "teacher", { trn: "1234567" });
    expect(await client.getPerson("1234567")).toMatchObject({ trn: "1234567", lastName: "Lovelace" });
    expect(scope.isDone()).toBe(true);
  });

  it("throws a 404 classed person_not_found", async () => {
    dqtScenario(baseUrl, "teacherMissing");
    expect(classify(await apiError(client.getPerson("1234567"))).errorClass.name).toBe("person_not_found");
  });
});
